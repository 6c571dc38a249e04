"""The dashboard's five charts and its element table, each built from a CycleReport alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from ..scoring import ALL, SELF, Change, CycleReport
from .base import (
    DARK_BLUE,
    GREEN,
    NHS_BLUE,
    PALE_GREY,
    PINK,
    RED,
    TEXT_COLOUR,
    WARM_YELLOW,
    Chart,
    Table,
    _category_axis,
    _change_cells,
    _colour,
    _difference,
    _error,
    _FakeRow,
    _figure,
    _gap_text,
    _hover,
    _interval,
    _label,
    _layout,
    _legend,
    _narrow,
    _round,
    _scale,
    _scale_colour,
    _score_axis,
    _shown_columns,
    _symbol,
    _text,
    _value,
    _wrap,
)

if TYPE_CHECKING:
    from ..instruments import Instrument

def domain_radar(report: CycleReport) -> Chart:
    columns = _shown_columns(report, report.domains)
    theta = [_wrap(row.title, 14) for row in report.domains]
    traces = []
    for column in columns:
        r = [_value(row.cells.get(column.key)) for row in report.domains]
        traces.append(go.Scatterpolar(
            r=[*r, r[0]], theta=[*theta, theta[0]], name=_wrap(column.label, 30),
            meta={"column": column.key}, mode="lines+markers", connectgaps=False,
            line={"color": _colour(report, column), "width": 3 if column.kind != "group" else 2,
                  "dash": "dash" if column.kind == "self" else "solid"},
            marker={"symbol": _symbol(report, column), "size": 9},
            hovertemplate=f"%{{theta}}: %{{r:.2f}}<extra>{_hover(column.label)}</extra>"))
    layout = _layout(height=560, margin={"l": 80, "r": 80, "t": 56, "b": 40}, polar={
        "radialaxis": {"range": [report.scale_min, report.scale_max], "dtick": 1,
                       "gridcolor": PALE_GREY, "angle": 90, "tickangle": 90},
        "angularaxis": {"direction": "clockwise", "rotation": 90, "gridcolor": PALE_GREY},
        "bgcolor": "#ffffff"}, legend=_legend(top=False),
        meta=_narrow(height=470, margin={"l": 84, "r": 84, "t": 48, "b": 30}))
    return Chart(
        "domain-radar", "Domains: self-assessment and colleagues",
        "Each line is one set of raters; the further out, the higher the average score for that "
        f"domain (from {report.scale_min} to {report.scale_max}).",
        _figure(traces, layout),
        Table(f"Average score for each domain ({_scale(report)})",
              ["Domain", *[column.label for column in report.columns]],
              [[row.title, *[_text(report, row.cells.get(c.key)) for c in report.columns]]
               for row in report.domains]))


def domain_bars(report: CycleReport) -> Chart:
    rows, keys = report.domains, [row.key for row in report.domains]
    others = [row.cells.get(ALL) for row in rows]
    means = [_value(cell) for cell in others]
    plus, minus = zip(*(_error(cell) for cell in others), strict=True)
    own = [_value(row.cells.get(SELF)) for row in rows]
    all_column, self_column = report.column(ALL), report.column(SELF)
    traces = [
        go.Bar(x=means, y=keys, orientation="h", name="All raters: average",
               meta={"column": ALL}, marker={"color": NHS_BLUE},
               error_x={"type": "data", "array": list(plus), "arrayminus": list(minus),
                        "color": TEXT_COLOUR, "thickness": 2, "width": 6},
               hovertemplate="%{x:.2f}<extra>All raters</extra>"),
        go.Scatter(x=own, y=keys, mode="markers", name="Self-assessment",
                   meta={"column": SELF},
                   marker={"symbol": "diamond", "size": 16, "color": PINK,
                           "line": {"color": "#ffffff", "width": 2}},
                   hovertemplate="%{x:.2f}<extra>Self-assessment</extra>"),
    ]
    title, layout = "Domains: average with 95% confidence interval", _layout(
        height=110 + 72 * len(rows), barmode="overlay", legend=_legend(),
        xaxis=_score_axis(report, "Average score"), yaxis=_category_axis(rows, 22),
        meta=_narrow(rows, 14))
    if not report.validity.met:
        title += " (read with caution)"
        layout["annotations"] = [{
            # True both when the rule is not met and when its senior part is not told
            # (scoring.disclosed): the chart must not say which.
            "text": ("Read with caution: the report is not shown to meet the rule for a valid "
                     "report"),
            "xref": "paper", "yref": "paper", "x": 0, "y": 1, "xanchor": "left",
            "yanchor": "bottom", "yshift": 48, "showarrow": False, "bgcolor": WARM_YELLOW,
            "borderpad": 6, "font": {"color": TEXT_COLOUR, "size": 14}}]
        layout["margin"]["t"] = 96
    description = ("Bars show all raters' average for each domain; the black line across each "
                   "bar is the 95% confidence interval, where the average would probably lie "
                   "with other colleagues answering. The diamond is the self-assessment.")
    if not report.validity.met:
        description += " " + report.validity.message
    table_rows = [[row.title, _text(report, cell), _interval(report, cell),
                   str(cell.n) if cell is not None else "0",
                   _text(report, row.cells.get(SELF))] for row, cell in zip(rows, others,
                                                                               strict=True)]
    return Chart("domain-bars", title, description, _figure(traces, layout), Table(
        f"All raters' average for each domain with its 95% confidence interval, and the "
        f"self-assessment ({_scale(report)})",
        ["Domain", f"{_label(all_column, 'All raters')}: average", "95% confidence interval",
         "Responses", _label(self_column, "Self-assessment")], table_rows))


def element_heatmap(report: CycleReport) -> Chart:
    rows, keys = report.elements, [row.key for row in report.elements]
    scores = [[_value(row.cells.get(SELF)), _value(row.cells.get(ALL))] for row in rows]
    gaps = {row.key: _difference(own, others) for row, (own, others) in zip(rows, scores,
                                                                             strict=True)}
    gap_values = [[gaps[row.key]] for row in rows]
    span = report.scale_max - report.scale_min
    traces = [
        go.Heatmap(z=scores, x=["Self", "All raters"], y=keys, xaxis="x", yaxis="y",
                   zmin=report.scale_min, zmax=report.scale_max,
                   colorscale=[[0, "#e8edee"], [1, DARK_BLUE]], showscale=False, xgap=3, ygap=3,
                   meta={"columns": [SELF, ALL]}, texttemplate="%{z:.2f}", textfont={"size": 15},
                   customdata=[[_hover(row.title)] * 2 for row in rows],
                   hovertemplate="%{customdata}<br>%{x}: %{z:.2f}<extra></extra>"),
        go.Heatmap(z=gap_values, x=["Gap"], y=keys, xaxis="x2", yaxis="y",
                   zmin=-span / 2, zmax=span / 2, zmid=0,
                   colorscale=[[0, GREEN], [0.5, "#ffffff"], [1, RED]], showscale=False,
                   xgap=3, ygap=3, meta={"columns": ["gap"]}, texttemplate="%{z:+.2f}",
                   textfont={"size": 15}, customdata=[[_hover(row.title)] for row in rows],
                   hovertemplate="%{customdata}<br>Self minus all raters: %{z:+.2f}"
                                 "<extra></extra>")]
    top = {"side": "top", "fixedrange": True, "showgrid": False, "automargin": True, "ticks": "",
           "anchor": "y"}
    # A label of three lines runs into the next row's (issue 12): two at most, the hover and the
    # table giving the element's whole name.
    layout = _layout(height=90 + 40 * len(rows), yaxis=_category_axis(rows, 34, lines=2),
                     xaxis={**top, "domain": [0, 0.63]}, xaxis2={**top, "domain": [0.65, 1]},
                     meta=_narrow(rows, 16, 2))
    return Chart(
        "element-heatmap", "Elements: self-assessment compared with colleagues",
        "Darker blue means a higher average. The gap is the self-assessment minus all raters' "
        "average: red where the self-assessment is higher than colleagues' scores, green where "
        "colleagues scored higher.",
        _figure(traces, layout),
        Table(f"Self-assessment, all raters' average and the gap for each element "
              f"({_scale(report)})",
              ["Element", "Self-assessment", "All raters: average", "Gap (self minus others)"],
              [[row.title, _text(report, row.cells.get(SELF)), _text(report, row.cells.get(ALL)),
                _gap_text(report, row, gaps[row.key])] for row in rows]))


def item_distributions(report: CycleReport, instrument: Instrument) -> Chart | None:
    """How colleagues answered each statement whose score is shown; None when none is (enough
    responses in all, yet every statement rated by too few): an empty chart says nothing."""
    titles = {row.key: row.title for row in report.items}
    distributions = report.distributions
    if not distributions:
        return None
    keys = [d.item for d in distributions]
    points = list(range(report.scale_min, report.scale_max + 1))
    labels = instrument.scale.labels
    names = [f"{p} {labels[p]}" if labels.get(p) else str(p) for p in points]
    traces = [go.Bar(x=[d.counts.get(p, 0) for d in distributions], y=keys, orientation="h",
                     name=_wrap(name, 22), meta={"point": p},
                     marker={"color": _scale_colour(i, len(points)),
                             "line": {"color": "#ffffff", "width": 1}},
                     hovertemplate=f"{_hover(name)}: %{{x}}<extra></extra>")
              for i, (p, name) in enumerate(zip(points, names, strict=True))]
    traces.append(go.Bar(x=[d.not_observed for d in distributions], y=keys, orientation="h",
                         name="Not observed", meta={"point": None},
                         marker={"color": PALE_GREY, "line": {"color": "#ffffff", "width": 1}},
                         hovertemplate="Not observed: %{x}<extra></extra>"))
    rows = [_FakeRow(key, titles.get(key, key)) for key in keys]
    layout = _layout(height=120 + 46 * len(keys), barmode="stack", legend=_legend(),
                     yaxis=_category_axis(rows, 34, lines=2),
                     meta=_narrow(rows, 18, 3, height=140 + 54 * len(keys)),
                     xaxis={"title": {"text": "Number of colleagues"}, "gridcolor": PALE_GREY,
                            "fixedrange": True, "rangemode": "tozero", "automargin": True})
    return Chart(
        "item-distributions", "Statements: how colleagues answered",
        "Each bar shows how many colleagues chose each answer for a statement, from "
        f"{names[0]} on the left to {names[-1]}, then those who had not observed it. Statements "
        "whose scores are not shown are left out.",
        _figure(traces, layout),
        Table("Number of colleagues choosing each answer, by statement",
              ["Statement", *names, "Not observed"],
              [[titles.get(d.item, d.item), *[str(d.counts.get(p, 0)) for p in points],
                str(d.not_observed)] for d in distributions]))


def change_chart(report: CycleReport, change: list[Change]) -> Chart | None:
    """Domain-level self and all raters, previous cycle against this one; None unless some
    previous score can be shown."""
    domains = [c for c in change if c.level == "domain"]
    if not any(v is not None for c in domains for v in (c.previous_self, c.previous_all)):
        return None
    keys = [c.key for c in domains]
    series = [("previous_self", "Self: previous cycle", PINK, True),
              ("current_self", "Self: this cycle", PINK, False),
              ("previous_all", "All raters: previous cycle", NHS_BLUE, True),
              ("current_all", "All raters: this cycle", NHS_BLUE, False)]
    traces = [go.Bar(x=[_round(getattr(c, field)) for c in domains], y=keys, orientation="h",
                     name=name, meta={"field": field},
                     marker={"color": "#ffffff" if previous else colour,
                             "line": {"color": colour, "width": 2},
                             "pattern": {"shape": "/" if previous else "", "fgcolor": colour,
                                         "size": 6}},
                     hovertemplate=f"%{{x:.2f}}<extra>{name}</extra>")
              for field, name, colour, previous in series]
    layout = _layout(height=110 + 100 * len(domains), barmode="group", bargap=0.25,
                     legend=_legend(), xaxis=_score_axis(report, "Average score"),
                     yaxis=_category_axis([_FakeRow(c.key, c.title) for c in domains], 22),
                     meta=_narrow([_FakeRow(c.key, c.title) for c in domains], 14))
    return Chart(
        "change", "Change since the previous cycle",
        "For each domain, the self-assessment and all raters' average in the previous cycle "
        "(striped) and in this one (solid).",
        _figure(traces, layout),
        Table(f"Average score for each domain, previous cycle and this one ({_scale(report)})",
              ["Domain", "Self: previous", "Self: this cycle", "Self: change",
               "All raters: previous", "All raters: this cycle", "All raters: change"],
              [[c.title, *_change_cells(c.previous_self, c.current_self),
                *_change_cells(c.previous_all, c.current_all)] for c in domains]))


def element_table(report: CycleReport) -> Table:
    """Every reported column for every element (the dashboard's full element table)."""
    return Table(f"Average score for each element, by group of raters ({_scale(report)})",
                 ["Element", *[column.label for column in report.columns]],
                 [[row.title, *[_text(report, row.cells.get(c.key)) for c in report.columns]]
                  for row in report.elements])

