"""The development dashboard's charts: a CycleReport in, plotly figures out (DESIGN.md "Reports").

Pure plotly: no Flask, no database, tested with plain DataFrames. Each :class:`Chart` holds its
figure as plain JSON data (``{"data", "layout", "config"}``, drawn in the browser by
``static/charts.js``) and a :class:`Table` of the same numbers, which the page always shows: the
figures are an enhancement, never the only place a number is.

Anonymity: a suppressed cell never reaches a figure or a table as a number. Figures leave it out;
tables say "Not shown (fewer than k)" (or, for a cell hidden so that a smaller group's scores
cannot be worked out, "Not shown (protects a smaller group)"). Every number is rounded once, in
``base``, to two decimals, and the figure and its table are built from the same rounded value.

Colours are the NHS identity palette, one fixed colour per kind of report column (self, all
raters, the pool), and the rater groups take the remaining colours in report order; lines also
differ by marker and dash, so nothing relies on colour alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..scoring import Change, CycleReport, compare_cycles
from .base import (
    AQUA_GREEN,
    CONFIG,
    DARK_BLUE,
    GREEN,
    GREY,
    GROUP_COLOURS,
    KIND_COLOURS,
    NHS_BLUE,
    PALE_GREY,
    PINK,
    PURPLE,
    RED,
    WARM_YELLOW,
    Chart,
    Table,
    hidden_text,
)
from .figures import (
    change_chart,
    domain_bars,
    domain_radar,
    element_heatmap,
    element_table,
    item_distributions,
)

if TYPE_CHECKING:
    from ..instruments import Instrument

__all__ = ["AQUA_GREEN", "CONFIG", "DARK_BLUE", "GREEN", "GREY", "GROUP_COLOURS", "KIND_COLOURS",
           "NHS_BLUE", "PALE_GREY", "PINK", "PURPLE", "RED", "WARM_YELLOW", "Chart", "Table",
           "change_chart", "dashboard_charts", "domain_bars", "domain_radar", "element_heatmap",
           "element_table", "hidden_text", "item_distributions"]


def dashboard_charts(report: CycleReport, instrument: Instrument,
                     change: list[Change] | None = None, *,
                     previous: CycleReport | None = None) -> list[Chart]:
    """Every chart of the dashboard, in page order. None while colleagues' scores are withheld
    (not enough responses); the change chart only with ``change`` or a ``previous`` report."""
    if not report.enough:
        return []
    charts = [domain_radar(report), domain_bars(report), element_heatmap(report)]
    distributions = item_distributions(report, instrument)
    if distributions is not None:
        charts.append(distributions)
    if change is None and previous is not None:
        change = compare_cycles(previous, report)
    if change:
        chart = change_chart(report, change)
        if chart is not None:
            charts.append(chart)
    return charts

