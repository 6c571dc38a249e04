"""The leads' aggregate of time-not-available reports: by quarter, by site or specialty, under
the cohort threshold, and the attacks on it (the brief insists): a lead who differences two
quarters or two breakdowns, or takes a quarter's total minus its shown groups, never isolates
fewer than ``COHORT_MIN_TRAINEES`` trainees' reports."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import date

import pytest
from helpers import audit_events, text_of

from feedback360.extensions import db
from feedback360.models import LeadProgramme
from feedback360.models.portfolio import TimeReport
from feedback360.quarters import Quarter

K = 3
_NOW = Quarter.containing(date.today())
THIS_QUARTER = date(_NOW.year, 3 * _NOW.number - 2, 1)
LAST_QUARTER = date(_NOW.previous().year, 3 * _NOW.previous().number - 2, 1)
def quarters_of(days) -> set[str]:
    return {Quarter.containing(day).value for day in days}


NEXT_QUARTER = (Quarter(_NOW.year + 1, 1) if _NOW.number == 4
                else Quarter(_NOW.year, _NOW.number + 1)).value


@pytest.fixture
def app_config(app_config):
    return {**app_config, "COHORT_MIN_TRAINEES": K}


@pytest.fixture
def people(app, make_user, make_cohort):
    """Trainees by (site, specialty) and the quarters they reported in: site A holds specialty
    X's three and one of Y, site B three more of Y; so A minus X, or Y minus B, would be one
    trainee. Last quarter: the same three of X, and one trainee alone at site C."""
    cohort = make_cohort("Ours", programme="Genomics STP")
    elsewhere = make_cohort("Theirs", programme="Physics STP")
    layout = [("A", "X", [THIS_QUARTER, LAST_QUARTER])] * 3 + [("A", "Y", [THIS_QUARTER])] + \
             [("B", "Y", [THIS_QUARTER])] * 3 + [("C", "Z", [LAST_QUARTER])]
    trainees = []
    with app.app_context():
        for number, (site, specialty, days) in enumerate(layout):
            trainee = make_user(f"t{number}@nhs.net", cohort_id=(cohort if number < 7
                                                                 else elsewhere).id)
            for day in days:
                db.session.add(TimeReport(trainee_id=trainee.id, kind="unavailable",
                                          occurred_on=day, hours=2 + number, reason="rota",
                                          description="Lost", site=site, specialty=specialty))
            db.session.add(TimeReport(trainee_id=trainee.id, kind="used", occurred_on=days[0],
                                      hours=1, description="Used"))
            trainees.append((trainee.id, site, specialty, quarters_of(days)))
        db.session.commit()
    return trainees


@pytest.fixture
def lead_client(app, make_user, login):
    client = app.test_client()
    assert login(client, make_user("lead@nhs.net", role="admin")).status_code == 302
    return client


def shown_page(client, period: str, by: str) -> dict[str | None, int]:
    """Group (None for the quarter's total) -> trainees reporting, as the page shows them."""
    response = client.get(f"/admin/time-reports?period={period}&by={by}")
    assert response.status_code == 200, response.status_code
    rows = re.findall(r'<tr class="nhsuk-table__row">(.*?)</tr>', response.text, re.S)
    shown: dict[str | None, int] = {}
    for row in rows:
        cells = [text_of(c).split(" ", 1)[1] if " " in text_of(c) else text_of(c)
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        group = cells[0].replace(by.capitalize(), "", 1).strip()
        shown[None if group == "All" else group] = int(cells[1].split()[-1])
    return shown


def cell_members(people, period: str, by: str, group: str | None) -> frozenset[tuple[int, str]]:
    """The (trainee, quarter) contributions a cell adds up."""
    column = {"site": 1, "specialty": 2}[by]
    return frozenset((p[0], period) for p in people
                     if period in p[3] and (group is None or p[column] == group))


def every_shown_cell(client, people):
    periods = [Quarter.containing(THIS_QUARTER).value, Quarter.containing(LAST_QUARTER).value]
    for period, by in itertools.product(periods, ("site", "specialty")):
        page = shown_page(client, period, by)
        yield period, by, page


def test_no_selection_or_difference_isolates_fewer_than_k(lead_client, people):
    cells = []
    for period, by, page in every_shown_cell(lead_client, people):
        members = {group: cell_members(people, period, by, group) for group in page}
        for group, count in page.items():
            assert count == len(members[group]) >= K, (period, by, group)
            cells.append(members[group])
        if None in page:  # the total minus the groups shown (complementary suppression)
            rest = members[None] - frozenset().union(*(m for g, m in members.items() if g))
            assert len(rest) == 0 or len(rest) >= K, (period, by, len(rest))
    assert cells, "something must show, or the test proves nothing"
    for first, second in itertools.permutations(cells, 2):  # two quarters, two breakdowns
        if second < first:
            assert len(first - second) >= K, sorted(first - second)


def test_the_remainder_of_a_breakdown_is_suppressed(lead_client, people):
    last = shown_page(lead_client, Quarter.containing(LAST_QUARTER).value, "site")
    # The quarter's four show; site A's three would leave C's one as the difference, so A
    # is hidden too (complementary suppression), and C alone never shows.
    assert last == {None: 4}


def test_csv_is_the_shown_aggregate(app, lead_client, people):
    period = Quarter.containing(THIS_QUARTER).value
    response = lead_client.get(f"/admin/time-reports.csv?period={period}&by=site")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {(r["group"], int(r["trainees_reporting"])) for r in rows} == {
        (group or "All", count)
        for group, count in shown_page(lead_client, period, "site").items()}
    assert "Lost" not in response.get_data(as_text=True)  # sums, never a report's words
    assert response.headers["Cache-Control"] == "no-store"
    assert [detail for _, _, detail in audit_events(app, "time_reports.exported")] == [
        {"period": period, "breakdown": "site"}]


@pytest.mark.parametrize("query", ["period=2026-Q5", "period=1999-Q1", "period=%00",
                                   "by=department", f"period={NEXT_QUARTER}"])
def test_unoffered_selections_are_404(lead_client, people, query):
    assert lead_client.get(f"/admin/time-reports?{query}").status_code == 404
    assert lead_client.get(f"/admin/time-reports.csv?{query}").status_code == 404


def test_a_scoped_lead_counts_only_their_programmes(app, make_user, login, people):
    lead = make_user("scoped@nhs.net", role="admin")
    with app.app_context():
        db.session.add(LeadProgramme(user_id=lead.id, programme="Physics STP"))
        db.session.commit()
    client = app.test_client()
    login(client, lead)
    # Only trainee 7 (site C) is in Physics: one trainee, so nothing shows at all.
    assert shown_page(client, Quarter.containing(LAST_QUARTER).value, "site") == {}


def test_no_reports_says_so(lead_client):
    page = text_of(lead_client.get("/admin/time-reports"))
    assert "No time-not-available reports in this quarter" in page


@pytest.mark.parametrize("seed", range(4))
def test_random_layouts_never_isolate_fewer_than_k(app, seed):
    """The same attacks on random sites, specialties and quarters, through the service."""
    import random

    from feedback360.models import User
    from feedback360.services import time_aggregate

    chance = random.Random(seed)
    with app.test_request_context():
        db.session.execute(db.insert(User), [
            {"email": f"r{n}@nhs.net", "name": f"R {n}", "role": "trainee",
             "session_nonce": f"n{n}"} for n in range(30)])
        lead = User(email="lead@nhs.net", name="Lead", role="admin", session_nonce="lead")
        db.session.add(lead)
        people = []
        for trainee_id in db.session.scalars(db.select(User.id).where(User.role == "trainee")):
            site, specialty = chance.choice("ABCD"), chance.choice("XYZ")
            days = chance.sample([THIS_QUARTER, LAST_QUARTER], chance.randint(1, 2))
            for day in days:
                db.session.add(TimeReport(trainee_id=trainee_id, kind="unavailable",
                                          occurred_on=day, reason="rota", description="-",
                                          site=site, specialty=specialty))
            people.append((trainee_id, site, specialty, quarters_of(days)))
        db.session.flush()
        cells = []
        for quarter, by in itertools.product([THIS_QUARTER, LAST_QUARTER], ("site", "specialty")):
            period = Quarter.containing(quarter).value
            shown = time_aggregate.aggregate(lead, period=period, breakdown=by)
            page = {row.group: row.trainees for row in shown.rows}
            if shown.total:
                page[None] = shown.total.trainees
            members = {group: cell_members(people, period, by, group) for group in page}
            for group, count in page.items():
                assert count == len(members[group]) >= K
                cells.append(members[group])
            if None in page:
                rest = members[None] - frozenset().union(*(m for g, m in members.items() if g))
                assert len(rest) == 0 or len(rest) >= K
        for first, second in itertools.permutations(cells, 2):
            if second < first:
                assert len(first - second) >= K
        assert cells
