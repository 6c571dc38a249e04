"""The cohort report, GET /cohorts/<id>/report, and its exports, through the real views.

Cycles are built as tests/test_reports.py builds them (services, rows as the survey stores them,
``close_cycle``), so the ``CycleScore`` rows the report reads are the real ones; each trainee's
colleagues answer a little differently so that the cohort's figures are not all alike.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from test_reports import text_of

from feedback360.exports import neutralise, to_csv, to_xlsx
from feedback360.extensions import db
from feedback360.instruments.loader import load_instrument
from feedback360.models import (
    Answer,
    AuditEvent,
    Cohort,
    CohortLaunch,
    CohortLaunchCycle,
    CycleScore,
    FeedbackCycle,
    Response,
    User,
)
from feedback360.services import DomainError
from feedback360.services import cycles as cycle_service
from feedback360.services.cohort_reports import (
    ReportFilters,
    analysis,
    cohort_report,
    item_level_rows,
)
from feedback360.services.instrument_cache import instrument_for

# (specialty, training year, site): Medical Physics 6 (5 of them year 2 at Leeds), Genomics 5,
# Audiology 2 (always hidden). Leeds has 9 and York 4, so Leeds is hidden too (all minus Leeds
# would be York); Medical Physics minus year 2 would be one trainee.
PEOPLE = ([("Medical Physics", 2, "Leeds")] * 5 + [("Medical Physics", 1, "York")]
          + [("Genomics", 1, "York")] * 3 + [("Genomics", 3, "Leeds")] * 2
          + [("Audiology", 1, "Leeds")] * 2)
RATERS = ["supervisor", "senior", "senior", *["peer"] * 7]  # 10 of the 11 nominated answer
INSTRUMENTS = Path(__file__).resolve().parent.parent / "instruments"
NUMBER = re.compile(r"\b\d\.\d\d\b")
# Medical Physics minus its year 2 (or minus its Leeds trainees) would be one trainee
PROTECTS = "Not shown (protects a smaller group)"
INJECTIONS = ["=HYPERLINK(\"http://x.invalid\",\"x\")", "+SUM(1,2)", "-1+2", "@SUM(A1)",
              "\tcmd", "\rcmd"]


def closed_cycle(app, trainee_id: int, offset: int, *, close: bool = True) -> int:
    """A cycle nominated, launched and answered through the services and rows, then closed:
    10 of 11 colleagues answer (their invitations completed), one declines."""
    with app.app_context():
        trainee = db.session.get(User, trainee_id)
        cycle = cycle_service.create_cycle(
            trainee, instrument_key="clcf", title="Spring 360",
            closes_on=cycle_service.today() + timedelta(days=14))
        for n, group in enumerate([*RATERS, "peer"]):
            cycle_service.nominate(cycle, name=f"Colleague {n}", group=group,
                                   email=f"colleague{n}.{cycle.id}@nhs.net")
        cycle_service.launch(cycle)
        instrument = instrument_for(cycle)
        me = Response(cycle_id=cycle.id, is_self=True)
        me.answers = [Answer(item_key=key, score=1 + (offset + i) % 5)
                      for i, key in enumerate(instrument.item_keys)]
        db.session.add(me)
        for n, group in enumerate(RATERS):
            response = Response(cycle_id=cycle.id, rater_group=group)
            response.answers = [Answer(item_key=key, score=1 + (n + i + offset) % 5)
                                for i, key in enumerate(instrument.item_keys)]
            db.session.add(response)
        invitations = sorted(cycle.invitations, key=lambda i: i.id)
        for invitation in invitations[:-1]:
            invitation.status, invitation.completed_on = "completed", date.today()
        invitations[-1].status = "declined"
        db.session.flush()
        if close:
            cycle_service.close_cycle(cycle, by=None)
        db.session.commit()
        return cycle.id


def add_launch(app, cohort_id: int, cycle_ids: list[int], title: str = "Spring 360") -> int:
    with app.app_context():
        first = db.session.get(FeedbackCycle, cycle_ids[0])
        launch = CohortLaunch(cohort_id=cohort_id, title=title, closes_on=first.closes_on,
                              instrument_version_id=first.instrument_version_id)
        db.session.add(launch)
        db.session.flush()
        for cycle_id in cycle_ids:
            cycle = db.session.get(FeedbackCycle, cycle_id)
            db.session.add(CohortLaunchCycle(cycle_id=cycle_id, launch_id=launch.id,
                                             trainee_id=cycle.trainee_id))
        db.session.commit()
        return launch.id


@pytest.fixture
def cohort(app, make_cohort, make_user):
    cohort = make_cohort("STP 2026 cohort", intake_year=2026)
    trainees = [make_user(f"t{n}@nhs.net", cohort=cohort, specialty=s, training_year=y, site=site)
                for n, (s, y, site) in enumerate(PEOPLE)]
    cycle_ids = [closed_cycle(app, t.id, n) for n, t in enumerate(trainees)]
    return {"id": cohort.id, "launch_id": add_launch(app, cohort.id, cycle_ids),
            "cycle_ids": cycle_ids, "trainee_ids": [t.id for t in trainees]}


@pytest.fixture
def lead(app, make_user, login):
    client = app.test_client()
    assert login(client, make_user("lead@nhs.net", role="admin")).status_code == 302
    return client


def report_url(cohort_id: int, **filters) -> str:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return f"/cohorts/{cohort_id}/report" + (f"?{query}" if query else "")


def test_the_lead_sees_the_cohort_report_with_small_cells_suppressed(app, lead, cohort):
    page = lead.get(report_url(cohort["id"]))
    assert page.status_code == 200
    text = text_of(page)
    assert ("Of 13 trainees in this selection, 13 have a closed feedback cycle in this report "
            "and 13 had enough responses to be scored.") in text
    assert "Colleagues answered 130 of 143 requests (91%), 10.0 responses per trainee." in text
    for section in ("Teaching priorities", "Domains and elements", "By specialty, training year "
                    "and site", "Self-assessment compared with colleagues",
                    "Trend across intakes"):
        assert section in text
    tables = breakdown_cells(page.text)
    assert tables["Audiology"] == "Fewer than 5 trainees"
    assert tables["York"] == "Fewer than 5 trainees"
    assert tables["Leeds"] == "Not shown (protects a smaller group)"
    assert tables["Medical Physics"] == "6"
    # every chart's data is JSON drawn by the page's own script, with the CSP nonce
    blocks = re.findall(r'<script type="application/json" class="app-chart-data" '
                        r'data-target="([\w-]+)">(.*?)</script>', page.text, re.S)
    assert {target for target, _ in blocks} == {"domain-distribution-figure",
                                                "perception-figure"}
    assert all("data" in json.loads(body) for _, body in blocks)
    nonce = re.search(r'<script src="/assets/plotly[^"]*" defer nonce="([^"]+)"', page.text)
    assert nonce and f"'nonce-{nonce.group(1)}'" in page.headers["Content-Security-Policy"]
    with app.app_context():
        [viewed] = db.session.scalars(db.select(AuditEvent).filter_by(
            action="cohort.report_viewed")).all()
        assert (viewed.target, viewed.actor.email) == (f"cohort:{cohort['id']}", "lead@nhs.net")


def breakdown_cells(markup: str) -> dict[str, str]:
    """Each breakdown row's label -> its "Trainees" cell, as the page prints them."""
    rows = re.findall(r'<th scope="row"[^>]*>.*?<span>(.*?)</span></th>\s*<td[^>]*>'
                      r'<span[^>]*>Trainees </span><span>(.*?)</span>', markup, re.S)
    return dict(rows)


@pytest.mark.parametrize("filters", [
    {"specialty": "Audiology"},  # 2 trainees
    {"specialty": "Medical Physics", "training_year": 1},  # 1 trainee
    {"site": "Leeds"},  # 9, but all minus Leeds would be York's 4
])
def test_filters_that_would_single_out_trainees_get_a_message_not_numbers(lead, cohort,
                                                                            filters):
    page = lead.get(report_url(cohort["id"], **filters))
    assert page.status_code == 200
    text = text_of(page).split("Trend across intakes")[0]  # the trend is the whole cohort's
    assert "These figures cannot be shown" in text
    assert "would describe too few trainees" in text
    assert not NUMBER.search(text), NUMBER.search(text)
    assert "app-chart-data" not in page.text and "/report/download" not in page.text


@pytest.mark.parametrize(("filters", "trainees"), [
    ({"specialty": "Medical Physics"}, 6), ({"launch": "LAUNCH"}, 13),
    ({"launch": "LAUNCH", "training_year": 1}, 6)])
def test_a_publishable_filter_shows_its_own_figures(lead, cohort, filters, trainees):
    filters = {k: cohort["launch_id"] if v == "LAUNCH" else v for k, v in filters.items()}
    page = lead.get(report_url(cohort["id"], **filters))
    text = text_of(page)
    assert f"Of {trainees} trainees in this selection, {trainees} have a closed feedback" in text
    assert "Statement-level figures for programme evaluation (CSV)" in text


def test_a_filter_value_not_in_the_cohort_is_a_form_error(lead, cohort):
    page = lead.get(report_url(cohort["id"], site="Nowhere"))
    assert page.status_code == 400
    assert "There is a problem" in page.text and "Choose a site from the list" in page.text
    assert not NUMBER.search(text_of(page))


def test_a_cohort_without_closed_cycles_says_so(app, lead, make_cohort, make_user):
    empty = make_cohort("STP 2027 cohort", intake_year=2027)
    trainee = make_user("new@nhs.net", cohort=empty, specialty="Genomics")
    closed_cycle(app, trainee.id, 0, close=False)
    page = lead.get(report_url(empty.id))
    assert page.status_code == 200
    assert "No feedback cycle of this cohort has closed yet" in text_of(page)
    assert lead.get(report_url(999999)).status_code == 404


def test_a_launch_still_running_counts_nowhere(app, lead, cohort, make_user):
    """A trainee still answering in the launch keeps the whole launch out of the report."""
    with app.app_context():
        late = make_user("late@nhs.net", cohort=db.session.get(Cohort, cohort["id"]))
    open_cycle = closed_cycle(app, late.id, 3, close=False)
    with app.app_context():
        db.session.add(CohortLaunchCycle(cycle_id=open_cycle, launch_id=cohort["launch_id"],
                                         trainee_id=late.id))
        db.session.commit()
        assert not cohort_report(ReportFilters(cohort["id"])).has_cycles


def test_the_trend_compares_intakes_of_the_same_programme(app, lead, cohort, make_cohort,
                                                          make_user):
    earlier = make_cohort("STP 2025 cohort", intake_year=2025)
    for n in range(5):
        closed_cycle(app, make_user(f"old{n}@nhs.net", cohort=earlier).id, n + 2)
    page = lead.get(report_url(cohort["id"]))
    assert 'data-target="trend-figure"' in page.text
    text = text_of(page)
    assert "2025 (STP 2025 cohort)" in text and "2026 (STP 2026 cohort) (this cohort)" in text


@pytest.mark.parametrize("role", ["trainee", "coach"])
def test_only_admins_reach_the_report_and_its_downloads(app, cohort, make_user, login, role):
    client = app.test_client()
    login(client, make_user(f"someone.{role}@nhs.net", role=role))
    assert client.get(report_url(cohort["id"])).status_code == 403
    url = f"/cohorts/{cohort['id']}/report/download?file=aggregates&format=csv"
    assert client.get(url).status_code == 403


# --- exports ---------------------------------------------------------------------------------

def download(client, cohort_id: int, file: str, fmt: str, **filters):
    query = "&".join(f"{k}={v}" for k, v in {"file": file, "format": fmt, **filters}.items())
    return client.get(f"/cohorts/{cohort_id}/report/download?{query}")


def read(response, fmt: str, sheet: str | None = None) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig")
    return pd.read_excel(io.BytesIO(response.data), sheet_name=sheet, engine="openpyxl")


def exports(app) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.action == "cohort.exported").order_by(AuditEvent.id)).all()


@pytest.mark.parametrize(("fmt", "media_type"), [
    ("csv", "text/csv; charset=utf-8"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])
def test_the_aggregates_download_holds_what_the_page_shows(app, lead, cohort, fmt, media_type):
    response = download(lead, cohort["id"], "aggregates", fmt, specialty="Medical Physics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == media_type
    assert re.fullmatch(rf'attachment; filename="cohort-{cohort["id"]}-report-[\d-]+\.{fmt}"',
                        response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        shown = cohort_report(ReportFilters(cohort["id"], specialty="Medical Physics"))
    domain = shown.domains[0]
    if fmt == "csv":
        frame = read(response, fmt)
        rows = frame[(frame["Section"] == "Domains and elements")
                     & (frame["Row"] == "domain") & (frame["Measure"] == "Colleagues: mean")]
        assert float(rows["Value"].iloc[0]) == pytest.approx(domain.others.mean, abs=1e-4)
        by_year = frame[(frame["Section"] == "By training year") & (frame["Measure"] == "Trainees")]
        assert dict(zip(by_year["Row"], by_year["Value"], strict=True)) == {
            "Year 1": "Fewer than 5 trainees", "Year 2": PROTECTS}
    else:
        sheets = read(response, fmt)
        distributions = sheets["Domains and elements"]
        assert distributions["Colleagues: mean"].iloc[0] == pytest.approx(domain.others.mean,
                                                                          abs=1e-4)
        by_year = sheets["By training year"].set_index("Training year")["Trainees"].to_dict()
        assert by_year == {"Year 1": "Fewer than 5 trainees", "Year 2": PROTECTS}
        assert sheets["By site"].set_index("Site")["Trainees"].to_dict() == {
            "Leeds": PROTECTS, "York": "Fewer than 5 trainees"}
        assert sheets["About"].set_index("Field")["Value"]["Specialty"] == "Medical Physics"
    (event,) = exports(app)
    assert event.target == f"cohort:{cohort['id']}" and event.detail["kind"] == "aggregates"
    assert event.detail["filters"]["specialty"] == "Medical Physics"


def test_an_unpublishable_selection_cannot_be_downloaded(app, lead, cohort):
    response = download(lead, cohort["id"], "aggregates", "csv", specialty="Audiology")
    assert response.status_code == 400
    assert "would describe too few trainees" in text_of(response)
    assert exports(app) == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("filters", [{"launch": "LAUNCH"}, {"specialty": "Medical Physics"}])
def test_the_statement_file_holds_cohort_aggregates_not_trainee_rows(app, lead, cohort, fmt,
                                                                     filters):
    """One row per statement over exactly the page's trainees: n, mean, SD, bands, as the
    page's elements; no trainee label, no count of raters, no row per trainee."""
    filters = {k: cohort["launch_id"] if v == "LAUNCH" else v for k, v in filters.items()}
    response = download(lead, cohort["id"], "items", fmt, **filters)
    assert response.status_code == 200
    frame = read(response, fmt, "Statements")
    instrument = load_instrument(INSTRUMENTS / "clcf.yaml")
    assert list(frame.columns) == [
        "Domain", "Element", "Statement", "Trainees", "Colleagues: mean",
        "Colleagues: standard deviation", "Trainees below 3", "Trainees 3 to under 4",
        "Trainees 4 or above", "Self: trainees", "Self: mean", "Self: standard deviation"]
    assert frame["Statement"].tolist() == [instrument.item(k).text for k in instrument.item_keys]
    selection = ReportFilters(cohort["id"], launch_id=filters.get("launch"),
                              specialty=filters.get("specialty"))
    with app.app_context():
        shown = cohort_report(selection)
        ids = analysis(cohort["id"]).scored_cycle_ids(selection.selection)
        truth = pd.DataFrame(db.session.execute(
            db.select(CycleScore.key, CycleScore.others_mean).where(
                CycleScore.cycle_id.in_(ids), CycleScore.level == "item")).all(),
            columns=["item", "others_mean"]).groupby("item")["others_mean"]
        emails = set(db.session.scalars(db.select(User.email)))
    n = shown.domains[0].others.n
    assert frame["Trainees"].astype(int).eq(n).all()
    assert frame[[c for c in frame.columns if c.startswith("Trainees ")]].astype(int).sum(
        axis=1).eq(n).all()
    means = dict(zip(frame["Statement"], frame["Colleagues: mean"].astype(float), strict=True))
    for key in instrument.item_keys:
        assert means[instrument.item(key).text] == pytest.approx(truth.mean()[key], abs=1e-4)
    assert not emails & set(frame.astype(str).to_numpy().ravel())
    assert [e.detail["kind"] for e in exports(app)] == ["items"]


def test_an_unpublishable_selection_has_no_statement_file(app, lead, cohort):
    response = download(lead, cohort["id"], "items", "csv", specialty="Audiology")
    assert response.status_code == 400
    assert "would describe too few trainees" in text_of(response)
    with app.app_context(), pytest.raises(DomainError, match="too few trainees"):
        item_level_rows(ReportFilters(cohort["id"], specialty="Audiology"))
    assert exports(app) == []


@pytest.mark.parametrize("query", ["file=all&format=csv", "file=items&format=pdf", "",
                                   "file=aggregates&format=csv&site=Nowhere"])
def test_a_bad_download_request_is_a_clear_400(lead, cohort, query):
    response = lead.get(f"/cohorts/{cohort['id']}/report/download?{query}")
    assert response.status_code == 400


# --- formula injection ----------------------------------------------------------------------

@pytest.mark.parametrize("payload", INJECTIONS)
def test_text_that_could_start_a_formula_is_neutralised(payload):
    assert neutralise(payload) == "'" + payload
    frame = pd.DataFrame({"name": [payload], "gap": [-0.5]})
    csv = pd.read_csv(io.BytesIO(to_csv(frame)), encoding="utf-8-sig", keep_default_na=False)
    assert csv["name"][0] == "'" + payload
    assert csv["gap"][0] == -0.5
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx({"Sheet": frame}))).active
    # XML keeps no bare carriage return: it reads back as a line feed, still after the quote
    assert sheet["A2"].value == "'" + payload.replace("\r", "\n")
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -0.5 and sheet["B2"].data_type == "n"


@pytest.mark.parametrize("value", ["Leeds", "3-2", "a=b", 5, -1.25, None])
def test_other_values_are_left_alone(value):
    assert neutralise(value) == value


def test_a_cohort_named_like_a_formula_is_neutralised_in_both_downloads(app, lead, cohort):
    with app.app_context():
        db.session.get(Cohort, cohort["id"]).name = INJECTIONS[0]
        db.session.commit()
    csv = download(lead, cohort["id"], "aggregates", "csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv
    book = openpyxl.load_workbook(io.BytesIO(download(lead, cohort["id"], "aggregates",
                                                      "xlsx").data))
    about = {row[0].value: row[1] for row in book["About"].iter_rows(min_row=2)}
    assert about["Cohort"].value == "'" + INJECTIONS[0] and about["Cohort"].data_type == "s"
    gaps = [row[5] for row in book["Self against others"].iter_rows(min_row=2)]
    assert all(cell.data_type == "n" for cell in gaps)


def test_the_service_reads_no_answers(app, cohort):
    """The report is built from CycleScore rows: deleting every answer changes nothing."""
    with app.app_context():
        before = cohort_report(ReportFilters(cohort["id"]))
        db.session.execute(db.delete(Answer))
        db.session.commit()
        after = cohort_report(ReportFilters(cohort["id"]))
    assert before == after
    assert before.participation.launched == len(PEOPLE)
