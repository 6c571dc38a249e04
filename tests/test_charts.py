"""charts.py: plain DataFrames -> score_cycle -> charts (DESIGN.md "Reports", "Anonymity").

Every chart's figure and its table must carry the same numbers; a suppressed cell must never
reach either as a number; figures are plain JSON. Checked on hand-made cycles and, as a property,
on random ones.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scoring import COLUMNS, answers, scores, times  # the same five items as MINI

from feedback360 import charts
from feedback360.charts import Chart, dashboard_charts, element_table
from feedback360.instruments import parse_instrument
from feedback360.scoring import ALL, SELF, AnonymityRules, CycleReport, compare_cycles, score_cycle

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")

MINI = parse_instrument({
    "key": "mini", "version": 1, "title": "Mini 360",
    "scale": {"min": 1, "max": 5, "labels": {1: "Rarely", 5: "Always"},
              "not_observed": "Not observed"},
    "rater_groups": [
        {"key": "supervisor", "label": "Supervisor", "anonymous": False, "senior": True},
        {"key": "senior", "label": "Consultant", "senior": True},
        {"key": "peer", "label": "Fellow <trainee>"},
        {"key": "nursing", "label": "Nurse"},
        {"key": "other", "label": "Other colleague"},
    ],
    "domains": [
        {"key": "d1", "title": "Domain one", "elements": [
            {"key": "e1", "title": "Element one", "items": [
                {"key": "a1", "text": "Statement a1"}, {"key": "a2", "text": "Statement a2"}]},
            {"key": "e2", "title": "Element two", "items": [{"key": "a3", "text": "Statement a3"}]},
        ]},
        {"key": "d2", "title": "Domain two", "elements": [
            {"key": "e3", "title": "Element three", "items": [
                {"key": "b1", "text": "Statement b1"}, {"key": "b2", "text": "Statement b2"}]},
        ]},
    ],
    "validity": {"min_responses": 5, "min_senior": 1, "min_rated_fraction": 0.6},
}, "mini")


# A cycle with a self-assessment, an identifiable supervisor, two groups of k and a pool; the
# nurses' statement b1 is rated by two of them only, so cells are hidden for anonymity.
RICH = answers(
    (None, {"a1": 5, "a2": 4, "a3": 2, "b1": 3, "b2": None}),
    ("supervisor", scores(3, a3=5)),
    ("senior", scores(2, a1=3)), ("senior", scores(3)), ("senior", scores(4, b2=5)),
    ("peer", scores(4, a2=5)), ("peer", scores(5, a3=None)), ("peer", scores(3)),
    ("nursing", scores(5)), ("nursing", scores(4, b1=2)), ("nursing", scores(4, b1=None)),
    ("other", scores(1, a1=2, a2=2)),
)
PREVIOUS = answers((None, 3), ("supervisor", 2), *times(3, "senior", 3), *times(3, "peer", 2),
                   ("nursing", scores(2, a1=None)))


@pytest.fixture(scope="module")
def rich() -> CycleReport:
    report = score_cycle(RICH, MINI)
    assert report.enough and any(cell.suppressed for level in ("domain", "element", "item")
                                 for row in report.table(level) for cell in row.cells.values())
    return report


# --- checking a chart against its table ------------------------------------------------------

def expected(report: CycleReport, cell: Any) -> str:
    """What a table must say for a report cell (never a number for a hidden one)."""
    k = report.rules.min_group
    if cell is None:
        return "Not scored"
    if cell.suppressed:
        return f"Not shown (fewer than {k})" if cell.n < k else \
            "Not shown (protects a smaller group)"
    return "No ratings" if cell.mean is None else f"{round(cell.mean, 2):.2f}"


def same(value: float | None, text: str) -> None:
    """A figure's value and a table's text say the same thing."""
    if value is None:
        assert not NUMBER.match(text), text
    else:
        assert NUMBER.match(text), (value, text)
        assert float(text) == pytest.approx(value, abs=1e-9), (value, text)


def check_radar(report: CycleReport, chart: Chart) -> None:
    table, data = chart.table, chart.figure["data"]
    assert table.headers == ["Domain", *[c.label for c in report.columns]]
    assert [r[0] for r in table.rows] == [row.title for row in report.domains]
    for j, column in enumerate(report.columns, start=1):
        for row, table_row in zip(report.domains, table.rows, strict=True):
            assert table_row[j] == expected(report, row.cells.get(column.key))
    plotted = [trace["meta"]["column"] for trace in data]
    assert plotted == [c.key for c in report.columns
                       if any(NUMBER.match(r[i]) for r in table.rows
                              for i in [table.headers.index(c.label)])]
    for trace in data:
        j = table.headers.index(report.column(trace["meta"]["column"]).label)
        assert trace["r"][-1] == trace["r"][0] and trace["theta"][-1] == trace["theta"][0]
        for value, table_row in zip(trace["r"][:-1], table.rows, strict=True):
            same(value, table_row[j])


def check_bars(report: CycleReport, chart: Chart) -> None:
    bars, own = chart.figure["data"]
    assert (bars["meta"], own["meta"]) == ({"column": ALL}, {"column": SELF})
    assert bars["y"] == own["y"] == [row.key for row in report.domains]
    errors = bars["error_x"]
    for i, (row, table_row) in enumerate(zip(report.domains, chart.table.rows, strict=True)):
        assert table_row[0] == row.title
        assert table_row[1] == expected(report, row.cells.get(ALL))
        same(bars["x"][i], table_row[1])
        same(own["x"][i], table_row[4])
        assert table_row[3] == str(row.cells[ALL].n)
        interval = re.fullmatch(r"(\S+) to (\S+)", table_row[2])
        if interval:
            low, high = map(float, interval.groups())
            assert bars["x"][i] + errors["array"][i] == pytest.approx(high, abs=1e-9)
            assert bars["x"][i] - errors["arrayminus"][i] == pytest.approx(low, abs=1e-9)
        else:
            assert errors["array"][i] == errors["arrayminus"][i] == 0


def check_heatmap(report: CycleReport, chart: Chart) -> None:
    scores_trace, gap_trace = chart.figure["data"]
    assert scores_trace["y"] == gap_trace["y"] == [row.key for row in report.elements]
    for i, (row, table_row) in enumerate(zip(report.elements, chart.table.rows, strict=True)):
        assert table_row[0] == row.title
        assert table_row[1:3] == [expected(report, row.cells.get(c)) for c in (SELF, ALL)]
        same(scores_trace["z"][i][0], table_row[1])
        same(scores_trace["z"][i][1], table_row[2])
        same(gap_trace["z"][i][0], table_row[3])
        if NUMBER.match(table_row[3]):
            assert float(table_row[3]) == pytest.approx(
                float(table_row[1]) - float(table_row[2]), abs=1e-9)


def check_distributions(report: CycleReport, chart: Chart) -> None:
    data, table = chart.figure["data"], chart.table
    points = list(range(report.scale_min, report.scale_max + 1))
    assert [trace["meta"]["point"] for trace in data] == [*points, None]
    assert len(table.headers) == len(points) + 2 and table.headers[-1] == "Not observed"
    assert data[0]["y"] == [d.item for d in report.distributions]
    for j, trace in enumerate(data, start=1):
        assert [int(row[j]) for row in table.rows] == trace["x"]
    for d, table_row in zip(report.distributions, table.rows, strict=True):
        assert table_row[0] == report.row("item", d.item).title
        cell = report.row("item", d.item).cells[ALL]
        assert cell.shown and sum(d.counts.values()) == cell.n
        assert sum(map(int, table_row[1:])) == report.column(ALL).n


def check_change(report: CycleReport, chart: Chart) -> None:
    columns = {"previous_self": 1, "current_self": 2, "previous_all": 4, "current_all": 5}
    for trace in chart.figure["data"]:
        j = columns[trace["meta"]["field"]]
        for value, table_row in zip(trace["x"], chart.table.rows, strict=True):
            same(value, table_row[j])
    for table_row in chart.table.rows:
        for before, after, change in ((1, 2, 3), (4, 5, 6)):
            if NUMBER.match(table_row[change]):
                assert float(table_row[change]) == pytest.approx(
                    float(table_row[after]) - float(table_row[before]), abs=1e-9)
            else:
                assert not (NUMBER.match(table_row[before]) and NUMBER.match(table_row[after]))


CHECKS = {"domain-radar": check_radar, "domain-bars": check_bars,
          "element-heatmap": check_heatmap, "item-distributions": check_distributions,
          "change": check_change}


def check_all(report: CycleReport, made: list[Chart]) -> None:
    for chart in made:
        CHECKS[chart.id](report, chart)
        assert chart.table.rows and all(len(r) == len(chart.table.headers)
                                        for r in chart.table.rows)
        assert json.loads(json.dumps(chart.figure)) == chart.figure
        for row in chart.table.rows:
            for text in row[1:]:
                assert (NUMBER.match(text) or re.fullmatch(r"\S+ to \S+", text)
                        or text.startswith(("Not ", "No "))), text
    for row, table_row in zip(report.elements, element_table(report).rows, strict=True):
        assert table_row == [row.title, *[expected(report, row.cells.get(c.key))
                                          for c in report.columns]]


# --- the tests ----------------------------------------------------------------------------------

def test_every_chart_has_a_table_with_the_figures_numbers(rich: CycleReport) -> None:
    previous = score_cycle(PREVIOUS, MINI)
    made = dashboard_charts(rich, MINI, previous=previous)
    assert [c.id for c in made] == ["domain-radar", "domain-bars", "element-heatmap",
                                    "item-distributions", "change"]
    check_all(rich, made)
    assert all(c.title and c.description and c.table.caption for c in made)


def test_the_radar_has_a_line_for_every_column_with_a_shown_domain_score(rich) -> None:
    radar = charts.domain_radar(rich)
    assert [t["meta"]["column"] for t in radar.figure["data"]] == [c.key for c in rich.columns]
    colours = {t["meta"]["column"]: t["line"]["color"] for t in radar.figure["data"]}
    assert colours[SELF] == charts.PINK and colours[ALL] == charts.NHS_BLUE
    assert colours["pooled"] == charts.GREY
    groups = [c.key for c in rich.columns if c.kind == "group"]
    assert [colours[g] for g in groups] == list(charts.GROUP_COLOURS[:len(groups)])
    # labels are plain text to plotly too: no markup from a group's name
    names = " ".join(t["name"] for t in radar.figure["data"])
    assert "Fellow &lt;trainee&gt;" in names and "<trainee>" not in names


def test_suppressed_cells_are_never_numbers_in_figures_or_tables(rich: CycleReport) -> None:
    made = {c.id: c for c in dashboard_charts(rich, MINI)}
    hidden = [(level, row.key, column) for level in ("domain", "element", "item")
              for row in rich.table(level) for column, cell in row.cells.items()
              if cell.suppressed]
    assert hidden
    elements = element_table(rich)
    for level, key, column in hidden:
        if level == "element":
            index = [r.key for r in rich.elements].index(key)
            j = [c.key for c in rich.columns].index(column) + 1
            assert elements.rows[index][j].startswith("Not shown (")
            if column in (SELF, ALL):
                heat = made["element-heatmap"]
                assert heat.figure["data"][0]["z"][index][[SELF, ALL].index(column)] is None
                assert heat.table.rows[index][1 + [SELF, ALL].index(column)].startswith(
                    "Not shown (")
        if level == "item" and column == ALL:
            assert key not in made["item-distributions"].figure["data"][0]["y"]
        if level == "domain":
            index = [r.key for r in rich.domains].index(key)
            radar = made["domain-radar"]
            j = radar.table.headers.index(rich.column(column).label)
            assert radar.table.rows[index][j].startswith("Not shown (")
    check_all(rich, list(made.values()))


def test_hidden_cells_say_why_in_words() -> None:
    # one nurse skips b1: the nurses' b1 (2 of 3) is hidden as "fewer than 3"
    report = score_cycle(answers(*times(5, "senior", 3), *times(3, "peer", 4),
                                 ("peer", scores(4, b2=None)), *times(2, "nursing", 5),
                                 ("nursing", scores(5, b1=None))), MINI)
    cell = report.row("item", "b1").cells["nursing"]
    assert cell.suppressed and charts.hidden_text(report, cell) == "Not shown (fewer than 3)"
    bigger = report.row("item", "b1").cells["peer"]
    assert bigger.suppressed and bigger.n >= 3
    assert charts.hidden_text(report, bigger) == "Not shown (protects a smaller group)"


def test_figures_are_plain_json_with_the_page_config(rich: CycleReport) -> None:
    for chart in dashboard_charts(rich, MINI, previous=score_cycle(PREVIOUS, MINI)):
        text = json.dumps(chart.figure, allow_nan=False)
        assert json.loads(text) == chart.figure
        assert set(chart.figure) == {"data", "layout", "config"}
        assert chart.figure["config"] == {"displayModeBar": False, "responsive": True}
        layout = chart.figure["layout"]
        assert "title" not in layout  # the page's heading names the chart
        assert layout["font"]["size"] >= 14 and layout["height"] > 0
        assert "narrow" in layout["meta"]
        assert re.fullmatch(r"[a-z-]+", chart.id)


def test_the_bars_are_flagged_when_the_validity_rule_is_not_met() -> None:
    unmet = score_cycle(answers((None, 3), *times(5, "peer", 4)), MINI)  # nobody senior
    assert unmet.enough and not unmet.validity.met
    bars = charts.domain_bars(unmet)
    assert bars.title.endswith("(read with caution)")
    [note] = bars.figure["layout"]["annotations"]
    assert "not shown to meet the rule for a valid report" in note["text"]
    assert unmet.validity.message in bars.description
    met = score_cycle(answers((None, 3), *times(5, "peer", 4), ("senior", 2)), MINI)
    assert met.validity.met
    flagless = charts.domain_bars(met)
    assert "caution" not in flagless.title and "annotations" not in flagless.figure["layout"]


def test_the_change_chart_only_with_a_previous_report(rich: CycleReport) -> None:
    previous = score_cycle(PREVIOUS, MINI)
    assert "change" not in [c.id for c in dashboard_charts(rich, MINI)]
    assert "change" not in [c.id for c in dashboard_charts(rich, MINI, change=[])]
    given_change = dashboard_charts(rich, MINI, compare_cycles(previous, rich))
    from_previous = dashboard_charts(rich, MINI, previous=previous)
    assert given_change[-1] == from_previous[-1] and given_change[-1].id == "change"
    change = given_change[-1]
    assert [row[0] for row in change.table.rows] == ["Domain one", "Domain two"]
    d1 = previous.row("domain", "d1").cells
    assert change.table.rows[0][1] == f"{d1[SELF].mean:.2f}"
    assert change.table.rows[0][4] == f"{round(d1[ALL].mean, 2):.2f}"


def test_no_change_chart_when_the_previous_report_showed_nothing(rich: CycleReport) -> None:
    thin = score_cycle(answers(*times(2, "peer", 4)), MINI)  # no self, too few raters
    assert charts.change_chart(rich, compare_cycles(thin, rich)) is None
    assert "change" not in [c.id for c in dashboard_charts(rich, MINI, previous=thin)]


def test_not_enough_responses_means_no_charts() -> None:
    report = score_cycle(answers((None, 5), *times(4, "peer", 4)), MINI)
    assert not report.enough
    assert dashboard_charts(report, MINI) == []
    assert dashboard_charts(report, MINI, previous=score_cycle(PREVIOUS, MINI)) == []


def test_distributions_name_each_scale_point_and_leave_out_hidden_items() -> None:
    report = score_cycle(answers(*times(2, "supervisor", 5), ("peer", 1),
                                 *times(2, "peer", scores(1, b1=None))), MINI)
    assert report.row("item", "b1").cells[ALL].suppressed
    chart = charts.item_distributions(report, MINI)
    assert chart.table.headers == ["Statement", "1 Rarely", "2", "3", "4", "5 Always",
                                   "Not observed"]
    assert "Statement b1" not in [row[0] for row in chart.table.rows]
    assert "b1" not in chart.figure["data"][0]["y"]
    check_distributions(report, chart)


def test_no_distribution_chart_when_no_statement_score_is_shown() -> None:
    """Enough responses in all, but each statement rated by too few: no empty chart and table
    (hypothesis found this; the chart showed no bars and its table no rows)."""
    rated = ({"a3": 1, "b1": 1, "b2": 1}, {"a1": 1, "a2": 1, "b2": 1},
             {"a2": 1, "a3": 1, "b1": 1})  # each statement by two colleagues only
    sparse = [("supervisor", scores(None, **items)) for items in rated]
    report = score_cycle(answers(*sparse), MINI, AnonymityRules(min_group=3, min_total=1))
    assert report.enough and not report.distributions
    assert charts.item_distributions(report, MINI) is None
    made = dashboard_charts(report, MINI)
    assert made and "item-distributions" not in [chart.id for chart in made]
    check_all(report, made)


def test_charts_import_neither_flask_nor_the_database() -> None:
    code = (
        "import sys, types\n"
        "package = types.ModuleType('feedback360')\n"
        f"package.__path__ = [{str(ROOT / 'feedback360')!r}]\n"
        "sys.modules['feedback360'] = package\n"
        "import feedback360.charts\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'flask_sqlalchemy', 'sqlalchemy', 'werkzeug', 'jinja2'})\n"
        "bad += [m for m in ('feedback360.models', 'feedback360.extensions') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


# --- property: random cycles ---------------------------------------------------------------------

@st.composite
def cycles(draw: st.DrawFn) -> tuple[pd.DataFrame, AnonymityRules]:
    groups = draw(st.lists(st.sampled_from(MINI.group_keys), min_size=1, max_size=5, unique=True))
    members = draw(st.lists(st.sampled_from(groups), max_size=14))
    with_self = draw(st.booleans())
    point = st.one_of(st.none(), st.integers(1, 5))
    responses = [(g, {item: draw(point) for item in MINI.item_keys})
                 for g in ([None] if with_self else []) + members]
    rules = AnonymityRules(min_group=draw(st.integers(2, 4)), min_total=draw(st.integers(1, 6)))
    return answers(*responses) if responses else pd.DataFrame(columns=COLUMNS), rules


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cycles(), cycles())
def test_property_charts_and_tables_agree_and_hide_what_scoring_hides(now, before) -> None:
    frame, rules = now
    if frame.empty:
        return
    report = score_cycle(frame, MINI, rules)
    previous = score_cycle(before[0], MINI, rules) if not before[0].empty else None
    made = dashboard_charts(report, MINI, previous=previous)
    if not report.enough:
        assert made == []
        return
    check_all(report, made)
