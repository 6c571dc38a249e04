"""The cohort report's charts and tables: a CohortReport in, plotly figures out.

Pure plotly, like the dashboard's (``charts.figures``): each :class:`Chart` carries its figure
as JSON data (drawn by ``static/charts.js``) and a :class:`Table` of the same rounded numbers,
which the page always shows. A CohortReport holds only what may be published, so every number
here is publishable; hidden breakdown cells say why in words ("Fewer than 5 trainees"), never
a blank that could be read as zero.
"""

from __future__ import annotations

import plotly.graph_objects as go

from ..scoring.cohort import Breakdown, CohortReport, IntakePoint, ScoreRow, Stats
from .base import (
    GREEN,
    GROUP_COLOURS,
    NHS_BLUE,
    PINK,
    RED,
    WARM_YELLOW,
    Chart,
    Table,
    _category_axis,
    _figure,
    _hover,
    _layout,
    _legend,
    _narrow,
    _number,
    _round,
    _score_axis,
    _wrap,
)

BAND_COLOURS = (RED, WARM_YELLOW, GREEN)


def _scale(report: CohortReport) -> str:
    return f"scores from {report.scale_min} to {report.scale_max}"


def _sd(stats: Stats | None) -> str:
    return _number(stats.sd, missing="Not available (one trainee)") if stats else "Not shown"


def _band_colour(index: int, count: int) -> str:
    if count == len(BAND_COLOURS):
        return BAND_COLOURS[index]
    return GROUP_COLOURS[index % len(GROUP_COLOURS)]


def distribution_chart(report: CohortReport, rows: tuple[ScoreRow, ...], *, chart_id: str,
                       noun: str) -> Chart:
    """How many trainees' colleagues' averages fall in each score band, per domain/element."""
    keys = [row.key for row in rows]
    labels = report.band_labels
    traces = [go.Bar(x=[row.others.bands[i] for row in rows], y=keys, orientation="h",
                     name=label, meta={"band": i},
                     marker={"color": _band_colour(i, len(labels)),
                             "line": {"color": "#ffffff", "width": 1}},
                     hovertemplate=f"{_hover(label)}: %{{x}} trainees<extra></extra>")
              for i, label in enumerate(labels)]
    layout = _layout(height=120 + 52 * len(rows), barmode="stack", legend=_legend(),
                     yaxis=_category_axis(rows, 30), meta=_narrow(rows, 16),
                     xaxis={"title": {"text": "Number of trainees"}, "fixedrange": True,
                            "rangemode": "tozero", "automargin": True})
    return Chart(
        chart_id, f"{noun}s: spread of colleagues' scores across trainees",
        f"For each {noun.lower()}, how many trainees' colleagues gave them an average in each "
        f"band ({_scale(report)}).",
        _figure(traces, layout),
        Table(f"Colleagues' average for each {noun.lower()} across trainees ({_scale(report)})",
              [noun, "Trainees", "Mean", "Standard deviation", *labels],
              [[row.title, str(row.others.n), _number(row.others.mean), _sd(row.others),
                *[str(b) for b in row.others.bands]] for row in rows]))


def perception_chart(report: CohortReport) -> Chart:
    rows = tuple(p for p in report.perception if p.level == "domain")
    keys = [p.key for p in rows]
    traces = [
        go.Bar(x=[_round(p.others_mean) for p in rows], y=keys, orientation="h",
               name="Colleagues: average", marker={"color": NHS_BLUE},
               hovertemplate="%{x:.2f}<extra>Colleagues</extra>"),
        go.Scatter(x=[_round(p.self_mean) for p in rows], y=keys, mode="markers",
                   name="Self-assessment: average",
                   marker={"symbol": "diamond", "size": 16, "color": PINK,
                           "line": {"color": "#ffffff", "width": 2}},
                   hovertemplate="%{x:.2f}<extra>Self-assessment</extra>")]
    layout = _layout(height=110 + 72 * len(rows), barmode="overlay", legend=_legend(),
                     xaxis=_score_axis(report, "Average score"), yaxis=_category_axis(rows, 22),
                     meta=_narrow(rows, 14))
    threshold = f"{report.threshold:g}"
    return Chart(
        "perception", "Self-assessment compared with colleagues",
        "Bars show colleagues' average across trainees for each domain; the diamond is the "
        "trainees' average self-assessment.",
        _figure(traces, layout),
        perception_table(report, threshold))


def perception_table(report: CohortReport, threshold: str | None = None,
                     level: str = "domain") -> Table:
    threshold = threshold or f"{report.threshold:g}"
    noun = "Domain" if level == "domain" else "Element"
    return Table(
        f"Self-assessment against colleagues' average, by {noun.lower()} ({_scale(report)})",
        [noun, "Trainees", "Self: average", "Colleagues: average", "Gap (self minus others)",
         f"Rate themselves {threshold} or more above", f"Rate themselves {threshold} or more "
         "below"],
        [[p.title, str(p.n), _number(p.self_mean), _number(p.others_mean),
          _number(p.gap, signed=True), str(p.over), str(p.under)]
         for p in report.perception if p.level == level])


def trend_chart(report: CohortReport) -> Chart | None:
    """Domain means per intake; None unless two intakes have figures."""
    shown = [p for p in report.trend if p.n is not None]
    if len(shown) < 2:
        return None
    names = [_intake(p) for p in shown]
    traces = [go.Scatter(x=names, y=[_round(p.means.get(key)) for p in shown],
                         mode="lines+markers", name=_wrap(title, 30), meta={"domain": key},
                         line={"color": GROUP_COLOURS[i % len(GROUP_COLOURS)], "width": 3},
                         hovertemplate=f"%{{x}}: %{{y:.2f}}<extra>{_hover(title)}</extra>")
              for i, (key, title) in enumerate(report.domain_titles.items())]
    layout = _layout(height=460, legend=_legend(top=False),
                     yaxis=_score_axis(report, "Colleagues' average"),
                     xaxis={"type": "category", "fixedrange": True, "automargin": True},
                     meta=_narrow(height=420))
    return Chart("trend", "Trend across intakes",
                 "Colleagues' average for each domain, one point per intake of this programme.",
                 _figure(traces, layout), trend_table(report))


def _intake(point: IntakePoint) -> str:
    return f"{point.intake_year} ({point.cohort})" if point.intake_year else point.cohort


def trend_table(report: CohortReport) -> Table:
    return Table(
        f"Colleagues' average for each domain by intake ({_scale(report)})",
        ["Intake", "Trainees", *report.domain_titles.values()],
        [[_intake(p) + (" (this cohort)" if p.current else ""),
          str(p.n) if p.n is not None else (p.hidden or "Not shown"),
          *[_number(p.means.get(key)) if p.n is not None else (p.hidden or "Not shown")
            for key in report.domain_titles]] for p in report.trend])


def breakdown_table(report: CohortReport, breakdown: Breakdown) -> Table:
    return Table(
        f"Colleagues' average for each domain by {breakdown.title.lower()} ({_scale(report)})",
        [breakdown.title, "Trainees", *report.domain_titles.values()],
        [[cell.label, str(cell.n) if cell.n is not None else cell.hidden or "Not shown",
          *[_number(cell.mean(key)) if cell.n is not None else cell.hidden or "Not shown"
            for key in report.domain_titles]] for cell in breakdown.cells])


def priorities_table(report: CohortReport, rows: tuple[ScoreRow, ...], caption: str) -> Table:
    domains = report.domain_titles
    return Table(caption, ["Element", "Domain", "Colleagues: average", "Trainees"],
                 [[row.title, domains.get(row.parent or "", ""), _number(row.others.mean),
                   str(row.others.n)] for row in rows])


def participation_table(report: CohortReport) -> Table:
    shown = report.participation
    assert shown is not None
    rows = [*shown.groups, shown.total]
    return Table(
        "Invitations and responses by rater group",
        ["Rater group", "Invited", "Responded", "Declined", "Response rate"],
        [[row.label, str(row.invited), str(row.completed), str(row.declined),
          f"{row.rate:.0%}" if row.rate is not None else "No invitations"] for row in rows])


def cohort_charts(report: CohortReport) -> list[Chart]:
    """Every chart of the cohort report, in page order (the trend whatever the filters)."""
    charts = []
    if report.scores_shown:
        charts.append(distribution_chart(report, report.domains, chart_id="domain-distribution",
                                         noun="Domain"))
    if report.perception:
        charts.append(perception_chart(report))
    trend = trend_chart(report)
    if trend is not None:
        charts.append(trend)
    return charts
