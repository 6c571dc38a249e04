"""Workplace affordances in the cohort report (issue 14, point 3), through the service and the
real report page and exports.

Twelve trainees of one cohort: six in Cardiology at Leeds General (Cardiac Science), five in the
Genomics laboratory at York Hospital and one in York's Audiology department. Leeds rates its
placement low, York high. Each trainee has two scored 360 cycles (January and July) with the
placement in between; affordances answers are rows written directly, on a questionnaire snapshot
of our own (the workplace part owns the real questionnaire and its forms).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import openpyxl
import pandas as pd
import pytest
import time_machine
from test_cohort_report_views import closed_cycle
from test_reports import text_of

from feedback360.extensions import db
from feedback360.models import (
    Activity,
    AffordanceAnswer,
    AffordanceResponse,
    CycleScore,
    InstrumentVersion,
    Organisation,
    Placement,
    Site,
)
from feedback360.scoring.affordance_frames import pairs_between
from feedback360.services.affordance_reports import affordance_section
from feedback360.services.cohort_reports import analysis

# keyed and worded as the affordances questionnaire is: no titles, so headings are the keys
ITEMS = {"departmental-leadership": "The department is well led.",
         "supervisor-engagement": "My supervisor takes an active interest in my leadership.",
         "protected-time": "I have protected time for leadership activities and learning."}
DEFINITION = {"key": "affordances", "version": 1, "title": "Workplace affordances",
              "scale": {"min": 1, "max": 5},
              "items": [{"key": key, "text": text} for key, text in ITEMS.items()]}
# (site, department, specialty, scores per item: None is "does not apply", activities)
PEOPLE = ([("Leeds General", "Cardiology", "Cardiac Science", (2, 1, 2), 1)] * 5
          + [("Leeds General", "Cardiology", "Cardiac Science", (2, 2, None), 0)]
          + [("York Hospital", "Genomics laboratory", "Genomics", (5, 4, 4), 3)] * 5
          + [("York Hospital", "Audiology", "Audiology", (4, 5, 5), 2)])


@pytest.fixture
def workplace(app, make_cohort, make_user):
    cohort = make_cohort("STP 2026 cohort", intake_year=2026)
    trainees = [make_user(f"t{n}@nhs.net", cohort=cohort) for n in range(len(PEOPLE))]
    with app.app_context():
        organisation = Organisation(name="North Trust")
        sites = {name: Site(organisation=organisation, name=name)
                 for name in ("Leeds General", "York Hospital")}
        snapshot = InstrumentVersion(key="affordances", version=1, sha256="a" * 64,
                                     title="Workplace affordances", definition=DEFINITION)
        db.session.add_all([organisation, snapshot, *sites.values()])
        for trainee, (site, department, specialty, scores, logged) in zip(
                trainees, PEOPLE, strict=True):
            placement = Placement(trainee_id=trainee.id, site=sites[site], department=department,
                                  specialty=specialty, started_on=date(2026, 2, 1))
            response = AffordanceResponse(
                trainee_id=trainee.id, placement=placement, instrument_version=snapshot,
                submitted_at=datetime(2026, 3, 1, tzinfo=UTC),
                answers=[AffordanceAnswer(item_key=key, score=score)
                         for key, score in zip(ITEMS, scores, strict=True)])
            db.session.add_all([placement, response])
            db.session.add_all([Activity(trainee_id=trainee.id, kind="education",
                                         category="course", title=f"Course {a}",
                                         started_on=date(2026, 3, 1), placement=placement)
                                for a in range(logged)])
        # logged against no placement: the sixth Leeds trainee's counts (it began during the
        # placement), the first's does not (it began before)
        db.session.add_all([Activity(trainee_id=trainees[t].id, kind="doing", category=category,
                                     title="Led a huddle", started_on=day)
                            for t, category, day in ((5, "shadowing", date(2026, 4, 1)),
                                                     (0, "shadowing", date(2025, 12, 1)))])
        db.session.commit()
    return {"id": cohort.id, "trainee_ids": [t.id for t in trainees]}


@pytest.fixture
def cycles(app, workplace):
    """Two scored cycles each, in January and July, either side of the placement. In July,
    colleagues rate Leeds trainees 0.3 to 0.55 lower on every domain, York's from 0.05 lower
    to 0.2 higher (the stored domain scores moved by hand: every cycle's raters answer alike)."""
    for when in (datetime(2026, 1, 10, 9, tzinfo=UTC), datetime(2026, 7, 10, 9, tzinfo=UTC)):
        with time_machine.travel(when, tick=False):
            july = [closed_cycle(app, trainee_id, n)
                    for n, trainee_id in enumerate(workplace["trainee_ids"])]
    with app.app_context():
        for n, cycle_id in enumerate(july):
            for score in db.session.scalars(db.select(CycleScore).filter_by(
                    cycle_id=cycle_id, level="domain")):
                score.others_mean += shift(n)
        db.session.commit()
    return workplace


def shift(n: int) -> float:
    """How far July moved trainee n's colleagues' domain averages."""
    return (-0.3 if n < 6 else 0.2) - 0.05 * (n % 6)


@pytest.fixture
def lead(app, make_user, login):
    client = app.test_client()
    assert login(client, make_user("lead@nhs.net", role="admin")).status_code == 302
    return client


def section(app, cohort_id: int):
    with app.app_context():
        audited = analysis(cohort_id)
        return affordance_section(cohort_id, audited.instrument if audited else None)


def groups(figures, dimension: str) -> dict[str, object]:
    [breakdown] = [b for b in figures.breakdowns if b.dimension == dimension]
    return {g.label: g for g in breakdown.groups}


def test_affordances_by_site_department_and_specialty_hide_small_groups(app, workplace):
    figures = section(app, workplace["id"]).figures
    total = figures.total.items
    assert total["overall"].n == 12
    # one trainee's "does not apply": protected time's 11 would be the 12 less that trainee
    assert total["protected-time"] is None
    assert total["departmental-leadership"].mean == pytest.approx((2 * 6 + 5 * 5 + 4) / 12)
    assert total["departmental-leadership"].bands == (6, 0, 6)  # thirds of the 1 to 5 scale
    sites = groups(figures, "site")
    assert sites["Leeds General"].n == 6 and sites["York Hospital"].n == 6
    assert sites["Leeds General"].items["overall"].mean == pytest.approx(
        (5 * (5 / 3) + 2) / 6)
    departments = groups(figures, "unit")
    assert departments["Cardiology, Leeds General"].n == 6  # the same six as Leeds
    # Audiology is one trainee; Genomics would be York less that one trainee
    assert departments["Audiology, York Hospital"].n is None
    assert departments["Genomics laboratory, York Hospital"].n is None
    specialties = groups(figures, "specialty")
    assert specialties["Cardiac Science"].n == 6
    assert specialties["Genomics"].n is None and specialties["Audiology"].n is None
    assert sites["Leeds General"].items["protected-time"] is None
    assert sites["York Hospital"].items["protected-time"].n == 6


def test_the_weakest_site_is_named_with_its_publishable_departments(app, workplace):
    [weakest] = section(app, workplace["id"]).figures.weakest  # York is above the average
    assert (weakest.label, weakest.n) == ("Leeds General", 6)
    assert weakest.weakest_item == ("Supervisor engagement", pytest.approx(7 / 6))
    assert weakest.departments == (("Cardiology", 6, pytest.approx(weakest.mean)),)


def test_activities_per_trainee_in_their_current_placement(app, workplace):
    figures = section(app, workplace["id"]).figures
    total = figures.total.activities
    assert (total.n, total.per_trainee, total.with_any) == (12, pytest.approx(23 / 12), 12)
    leeds = groups(figures, "site")["Leeds General"].activities
    assert (leeds.n, leeds.per_trainee, leeds.with_any) == (6, pytest.approx(1), 6)
    assert groups(figures, "unit")["Audiology, York Hospital"].activities is None


def test_the_change_in_scores_is_grouped_by_the_placement_in_between(app, cycles):
    change = section(app, cycles["id"]).change
    low, middle, high = change.groups
    assert (low.n, middle.n, high.n, change.total.n) == (6, None, 6, 12)
    assert middle.changes == {}
    assert [key for key in low.changes] == ["overall", *(key for key, _ in change.domains)]
    assert len(change.domains) == 5
    leeds = pd.Series([shift(n) for n in range(6)])
    # mean -0.425, sd 0.0935 over six trainees: t(5) = 2.571
    half = 2.571 * leeds.std() / 6 ** 0.5
    for interval in low.changes.values():
        assert interval.mean == pytest.approx(leeds.mean())
        assert (interval.low, interval.high) == (pytest.approx(leeds.mean() - half, abs=1e-3),
                                                 pytest.approx(leeds.mean() + half, abs=1e-3))
    assert high.changes["overall"].mean == pytest.approx(0.075)


def test_no_affordances_section_without_answers(app, lead, make_cohort, make_user):
    cohort = make_cohort("Empty cohort")
    make_user("alone@nhs.net", cohort=cohort)
    page = lead.get(f"/cohorts/{cohort.id}/report")
    assert page.status_code == 200 and "Workplace affordances" not in page.text
    assert section(app, cohort.id).figures is None


def test_the_report_page_and_its_exports_show_the_affordances(lead, cycles):
    page = lead.get(f"/cohorts/{cycles['id']}/report")
    assert page.status_code == 200
    text = text_of(page)
    assert "Workplace affordances" in text
    weakest = text.split("Where affordances are weakest")[1].split("Each affordance")[0]
    assert "Leeds General : average 1.72 from 6 trainees" in weakest
    assert "Departments: Cardiology 1.72 (6 trainees)" in weakest
    assert "York" not in weakest
    assert "This is an association, not a cause" in text
    assert all(statement in text for statement in ITEMS.values())
    assert "Change in 360 scores against affordances" in text
    cells = re.findall(r"<span>([^<]*)</span></th>", page.text)
    assert "Audiology, York Hospital" in cells
    # the hidden department's row says so, with no number
    row = page.text.split("<span>Audiology, York Hospital</span></th>")[1].split("</tr>")[0]
    assert "Not shown" in row and not re.search(r"<span>\d", row)
    # and the exports carry the same figures, hidden ones in words
    url = f"/cohorts/{cycles['id']}/report/download?file=aggregates&format="
    book = openpyxl.load_workbook(io.BytesIO(lead.get(url + "xlsx").data))
    assert {"Affordances", "Activities", "Change by affordance"} <= set(book.sheetnames)
    rows = pd.read_csv(io.BytesIO(lead.get(url + "csv").data))
    figures = rows[rows["Section"] == "Affordances"].set_index(["Row", "Measure"])["Value"]
    overall = "All affordances (each trainee's average)"
    assert figures["Site: Leeds General", f"{overall}: Trainees"] == "6"
    assert float(figures["Site: Leeds General", f"{overall}: Average"]) == pytest.approx(
        1.7222, abs=1e-4)
    assert figures["Department: Audiology, York Hospital", f"{overall}: Trainees"] == "Not shown"
    change = rows[rows["Section"] == "Change by affordance"].set_index(["Row", "Measure"])
    assert change.loc[("All trainees with two scored cycles", "Trainees"), "Value"] == "12"


def test_the_placement_between_two_cycles_is_the_one_overlapping_them_most():
    """Trainee 1: cycles in January, July and December; placements February to June (rated 2)
    and from August (rated 5): their most recent pair, July to December, is the August one's.
    Trainee 2's only placement began after their second cycle: no pair."""
    placements = pd.DataFrame(
        [(1, 1, date(2026, 2, 1), date(2026, 6, 30)), (2, 1, date(2026, 8, 1), None),
         (3, 2, date(2026, 9, 1), None)],
        columns=["placement_id", "trainee_id", "started_on", "ended_on"])
    responses = pd.DataFrame([(11, 1, 1), (12, 1, 2), (13, 2, 3)],
                             columns=["response_id", "trainee_id", "placement_id"])
    answers = pd.DataFrame([(11, "a", 2.0), (12, "a", 5.0), (12, "b", None), (13, "a", 1.0)],
                           columns=["response_id", "item", "score"])
    closed = {month: datetime(2026, month, 10, tzinfo=UTC) for month in (1, 7, 12)}
    cycles = pd.DataFrame(
        [(1, 1, closed[1], 3.0), (2, 1, closed[7], 3.5), (3, 1, closed[12], 3.25),
         (4, 2, closed[1], 3.0), (5, 2, closed[7], 4.0)],
        columns=["cycle_id", "trainee_id", "closed_at", "lead"])
    pairs = pairs_between(placements, responses, answers, cycles, ["lead"])
    assert pairs.to_dict("records") == [{"trainee_id": 1, "affordance": 5.0, "lead": -0.25}]
