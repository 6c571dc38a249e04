"""Time for leadership development (issue 13, point 4): a trainee records protected time used and
reports time not available, with the site and specialty of the day kept; their coach sees them
one by one; nobody else does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import form_fields, post_form, text_of

from feedback360.extensions import db
from feedback360.models import CoachAssignment
from feedback360.models.portfolio import TimeReport
from feedback360.models.workplace import Organisation, Placement, Site


@pytest.fixture
def trainee(make_user):
    return make_user("tara.trainee@nhs.net", name="Tara Trainee", site="Profile Site",
                     specialty="Genomics")


@pytest.fixture
def trainee_client(app, trainee, login):
    client = app.test_client()
    assert login(client, trainee).status_code == 302
    return client


def on(day: date, **changes: str) -> dict[str, str]:
    return {"occurred_on-day": str(day.day), "occurred_on-month": str(day.month),
            "occurred_on-year": str(day.year), "hours": "3", "description": "QI half day",
            **changes}


def test_trainee_records_used_and_unavailable_time_with_totals(app, trainee_client):
    today = date.today()
    assert "Nothing recorded yet" in text_of(trainee_client.get("/portfolio/time"))
    assert post_form(trainee_client, "/portfolio/time/new?kind=used",
                     on(today, description="Leadership course")).status_code == 302
    assert post_form(trainee_client, "/portfolio/time/new?kind=unavailable",
                     on(today, reason="rota", hours="4")).status_code == 302
    assert post_form(trainee_client, "/portfolio/time/new?kind=unavailable",
                     on(today, reason="leave_refused", hours="")).status_code == 302
    page = text_of(trainee_client.get("/portfolio/time"))
    assert "Protected time used 3 hours in 1 report" in page
    assert "Time not available 4 hours in 2 reports" in page
    assert "Leave refused" in page


@pytest.mark.parametrize(("kind", "changes", "field", "message"), [
    ("used", {"hours": ""}, "hours", "Enter how many hours you used"),
    ("used", {"hours": "0"}, "hours", "Hours must be more than 0"),
    ("used", {"hours": "inf"}, "hours", "must be a number of hours"),
    ("used", {"description": ""}, "description", "Say what the time went on"),
    ("used", {"occurred_on-year": "2999"}, "occurred_on", "Date must be today or in the past"),
    ("unavailable", {}, "reason", "Select why the time was not available"),
    ("unavailable", {"reason": "bored"}, "reason", "Select why the time was not available"),
    ("unavailable", {"reason": "other"}, "reason_detail", "Say what the other reason was"),
    ("unavailable", {"reason": "rota", "description": ""}, "description", "Say what was lost"),
])
def test_each_rule_shows_beside_its_field(app, trainee_client, kind, changes, field, message):
    response = post_form(trainee_client, f"/portfolio/time/new?kind={kind}",
                         on(date.today(), **changes))
    assert response.status_code == 400
    assert message in text_of(response)
    assert f'href="#{field}' in response.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TimeReport)) == 0


def test_unknown_kind_is_404(trainee_client):
    assert trainee_client.get("/portfolio/time/new?kind=holiday").status_code == 404


def test_site_and_specialty_are_kept_as_at_the_report(app, trainee, trainee_client):
    today = date.today()
    with app.app_context():
        site = Site(name="St Elsewhere", organisation=Organisation(name="Elsewhere Trust"))
        db.session.add(Placement(trainee_id=trainee.id, site=site, department="Cardiology",
                                 specialty="Cardiology", started_on=today - timedelta(days=10)))
        db.session.commit()
    post_form(trainee_client, "/portfolio/time/new?kind=unavailable", on(today, reason="rota"))
    before = today - timedelta(days=100)
    post_form(trainee_client, "/portfolio/time/new?kind=unavailable", on(before, reason="rota"))
    with app.app_context():
        kept = {r.occurred_on: (r.site, r.specialty) for r in db.session.scalars(
            db.select(TimeReport))}
    assert kept == {today: ("St Elsewhere", "Cardiology"), before: ("Profile Site", "Genomics")}


def test_edit_and_delete_own_reports_only(app, trainee_client, make_user, login):
    post_form(trainee_client, "/portfolio/time/new?kind=unavailable",
              on(date.today(), reason="rota"))
    with app.app_context():
        report_id = db.session.scalar(db.select(TimeReport.id))
    edit = f"/portfolio/time/{report_id}/edit"
    sent = {**form_fields(trainee_client.get(edit), index=1), "reason": "service_pressure"}
    assert post_form(trainee_client, edit, sent).status_code == 302
    assert "Service pressure" in text_of(trainee_client.get("/portfolio/time"))
    other = app.test_client()
    login(other, make_user("other@nhs.net"))
    assert other.get(edit).status_code == 404
    assert other.get(f"/portfolio/time/{report_id}/delete").status_code == 404
    assert post_form(trainee_client, f"/portfolio/time/{report_id}/delete", {}).status_code == 302
    with app.app_context():
        assert db.session.get(TimeReport, report_id) is None


def test_coach_sees_their_own_trainees_reports(app, trainee, trainee_client, make_user, login):
    post_form(trainee_client, "/portfolio/time/new?kind=unavailable",
              on(date.today(), reason="rota", description="Lost my QI afternoon"))
    mine = make_user("cora.coach@nhs.net", role="coach")
    other = make_user("otto.coach@nhs.net", role="coach")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=mine.id, trainee_id=trainee.id))
        db.session.commit()
    client = app.test_client()
    login(client, mine)
    page = client.get(f"/coach/trainees/{trainee.id}/time")
    assert "Lost my QI afternoon" in text_of(page) and "/edit" not in page.text
    client = app.test_client()
    login(client, other)
    assert client.get(f"/coach/trainees/{trainee.id}/time").status_code == 404
