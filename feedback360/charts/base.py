"""The charts' building blocks: Chart and Table, NHS colours, numbers as the tables print them,
and the plotly layout every figure shares. Pure plotly, like the rest of the package. Names with
a leading underscore are for the package's own modules."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from ..scoring import ALL, SELF, Cell, Column, CycleReport, Row

NHS_BLUE, DARK_BLUE, GREEN, WARM_YELLOW = "#005eb8", "#003087", "#007f3b", "#ffb81c"
PURPLE, GREY, RED, AQUA_GREEN, PINK = "#330072", "#768692", "#d5281b", "#00a499", "#ae2573"
PALE_GREY, TEXT_COLOUR = "#d8dde0", "#212b32"
KIND_COLOURS = {"self": PINK, "all": NHS_BLUE, "pool": GREY}
GROUP_COLOURS = (GREEN, PURPLE, AQUA_GREEN, DARK_BLUE, RED)
SYMBOLS = {"self": "diamond", "all": "circle", "pool": "cross"}
GROUP_SYMBOLS = ("square", "triangle-up", "star", "x", "hexagon")
SCALE_COLOURS = (RED, WARM_YELLOW, GREY, AQUA_GREEN, GREEN)  # lowest to highest point
CONFIG = {"displayModeBar": False, "responsive": True}
FONT = {"family": '"Frutiger W01", Arial, Helvetica, sans-serif', "size": 15,
        "color": TEXT_COLOUR}
DECIMALS = 2
NOT_RATED = "No ratings"  # everyone chose "not observed"
NOT_AVAILABLE = "Not available"  # hidden, or not asked, in one of the two cycles


@dataclass(frozen=True)
class Table:
    """A chart's accessible equivalent: the first cell of each row heads the row."""

    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    figure: dict[str, Any]  # {"data": [...], "layout": {...}, "config": {...}}, JSON-ready
    table: Table


# --- numbers and words -----------------------------------------------------------------------

def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS)


def _value(cell: Cell | None) -> float | None:
    """The number a figure may show: None for a missing, hidden or unrated cell."""
    if cell is None or cell.suppressed or cell.mean is None:
        return None
    return _round(cell.mean)


def _difference(a: float | None, b: float | None) -> float | None:
    """a minus b as the tables show them: the difference of the rounded numbers."""
    a, b = _round(a), _round(b)
    return None if a is None or b is None else _round(a - b)


def _number(value: float | None, *, signed: bool = False, missing: str = "Not shown") -> str:
    rounded = _round(value)
    if rounded is None:
        return missing
    if signed and rounded != 0:
        return f"{rounded:+.{DECIMALS}f}"
    return f"{abs(rounded):.{DECIMALS}f}" if rounded == 0 else f"{rounded:.{DECIMALS}f}"


def _change_cells(before: float | None, after: float | None) -> list[str]:
    return [_number(before, missing=NOT_AVAILABLE), _number(after, missing=NOT_AVAILABLE),
            _number(_difference(after, before), signed=True, missing=NOT_AVAILABLE)]


def hidden_text(report: CycleReport, cell: Cell) -> str:
    k = report.rules.min_group
    if cell.n < k:
        return f"Not shown (fewer than {k})"
    return "Not shown (protects a smaller group)"


def _text(report: CycleReport, cell: Cell | None) -> str:
    if cell is None:
        return "Not scored"
    if cell.suppressed:
        return hidden_text(report, cell)
    value = _value(cell)
    return NOT_RATED if value is None else f"{value:.{DECIMALS}f}"


def _error(cell: Cell | None) -> tuple[float, float]:
    """(plus, minus) of the 95% interval around the rounded mean; 0 where there is none."""
    mean, low, high = _value(cell), None, None
    if mean is not None and cell is not None:
        low, high = _round(cell.ci_low), _round(cell.ci_high)
    if mean is None or low is None or high is None:
        return 0.0, 0.0
    return round(high - mean, DECIMALS), round(mean - low, DECIMALS)


def _interval(report: CycleReport, cell: Cell | None) -> str:
    if cell is None or cell.suppressed or _value(cell) is None:
        return _text(report, cell)
    if cell.ci_low is None or cell.ci_high is None:
        return "Not available (one response)"
    return f"{_round(cell.ci_low):.{DECIMALS}f} to {_round(cell.ci_high):.{DECIMALS}f}"


def _gap_text(report: CycleReport, row: Row, gap: float | None) -> str:
    if gap is not None:
        return _number(gap, signed=True)
    own, others = row.cells.get(SELF), row.cells.get(ALL)
    hidden = next((c for c in (others, own) if c is not None and c.suppressed), None)
    return hidden_text(report, hidden) if hidden else "No gap (a score is missing)"


def _scale(report: CycleReport) -> str:
    return f"scores from {report.scale_min} to {report.scale_max}"


def _label(column: Column | None, default: str) -> str:
    return column.label if column is not None else default


def _wrap(text: str, width: int, lines: int | None = None) -> str:
    """Text broken into lines for a plot label (plotly breaks lines only at <br>)."""
    parts = textwrap.wrap(_hover(text), width) or [""]
    if lines is not None and len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: max(width - 1, 1)].rstrip() + "…"
    return "<br>".join(parts)


def _hover(text: str) -> str:
    """Plotly reads a few HTML tags in labels: keep any angle brackets as plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- look and feel ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _FakeRow:
    key: str
    title: str


def _shown_columns(report: CycleReport, rows: tuple[Row, ...]) -> list[Column]:
    return [c for c in report.columns if any(_value(r.cells.get(c.key)) is not None
                                             for r in rows)]


def _group_index(report: CycleReport, column: Column) -> int:
    groups = [c.key for c in report.columns if c.kind == "group"]
    return groups.index(column.key) if column.key in groups else 0


def _colour(report: CycleReport, column: Column) -> str:
    if column.kind in KIND_COLOURS:
        return KIND_COLOURS[column.kind]
    return GROUP_COLOURS[_group_index(report, column) % len(GROUP_COLOURS)]


def _symbol(report: CycleReport, column: Column) -> str:
    if column.kind in SYMBOLS:
        return SYMBOLS[column.kind]
    return GROUP_SYMBOLS[_group_index(report, column) % len(GROUP_SYMBOLS)]


def _scale_colour(index: int, count: int) -> str:
    if count <= 1:
        return NHS_BLUE
    return SCALE_COLOURS[round(index * (len(SCALE_COLOURS) - 1) / (count - 1))]


def _legend(*, top: bool = True) -> dict[str, Any]:
    return {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0 if top else -0.02,
            "yanchor": "bottom" if top else "top", "font": {"size": 14},
            "traceorder": "normal", "itemclick": False, "itemdoubleclick": False}


def _score_axis(report: CycleReport, title: str) -> dict[str, Any]:
    return {"range": [report.scale_min, report.scale_max + 0.05], "dtick": 1,
            "title": {"text": title}, "gridcolor": PALE_GREY, "fixedrange": True,
            "zeroline": False, "automargin": True}


def _category_axis(rows: Any, width: int, lines: int | None = None) -> dict[str, Any]:
    keys = [row.key for row in rows]
    return {"tickmode": "array", "tickvals": keys,
            "ticktext": [_wrap(row.title, width, lines) for row in rows],
            "autorange": "reversed", "automargin": True, "fixedrange": True, "ticks": "",
            "showline": False, "showgrid": False, "zeroline": False,
            "categoryorder": "array", "categoryarray": keys}


def _narrow(rows: Any = None, width: int = 0, lines: int | None = None,
            **patch: Any) -> dict[str, Any]:
    """layout.meta.narrow: what static/charts.js changes in the layout on a phone-sized screen
    (smaller text, category labels wrapped shorter)."""
    patch = {"font": {"size": 12}, "legend": {"font": {"size": 12}}, **patch}
    if rows is not None:
        patch["yaxis"] = {"ticktext": [_wrap(row.title, width, lines) for row in rows]}
    return {"narrow": patch}


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": {}, "font": FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
        "margin": {"l": 8, "r": 16, "t": 24, "b": 8}, "hoverlabel": {"font": {"size": 14}},
        "showlegend": True, "dragmode": False}
    layout.update(extra)
    return layout


def _figure(traces: list[Any], layout: dict[str, Any]) -> dict[str, Any]:
    return _plain(go.Figure(data=traces, layout=layout))


def _plain(figure: go.Figure) -> dict[str, Any]:
    """The figure as JSON-ready data (plotly's own encoder), with the page's plot config.
    The graph objects have checked every property already: no second validation."""
    data = json.loads(pio.to_json(figure, validate=False))
    return {"data": data["data"], "layout": data["layout"], "config": dict(CONFIG)}

