"""The leadership champion: invited for an organisation, their home, and the Leadership
Commitment tracker (criteria as data, status history, overdue reviews, audit)."""

from __future__ import annotations

import re
from datetime import date

import pytest
import time_machine
import yaml
from champion_helpers import champion_world
from helpers import audit_events, form_fields, post_form, text_of

from feedback360.extensions import db
from feedback360.models import COMMITMENT_THEMES, CommitmentStatus, Organisation, User
from feedback360.services import DomainError, accounts
from feedback360.services.commitment_criteria import (
    CRITERIA_FILE,
    CriteriaError,
    load_commitment,
    parse_commitment,
)

KEY = "time-self-development"


@pytest.fixture
def world(app, make_user):
    return champion_world(app, make_user)


def test_every_criterion_of_the_five_themes_is_there():
    commitment = load_commitment()
    assert len(commitment.criteria) == 27
    for theme in COMMITMENT_THEMES:
        levels = {c.level for c in commitment.of_theme(theme)}
        assert levels == {"essential", "desirable"}, theme
    assert "study and/or professional leave" in commitment.by_key()["time-study-leave"].text


def _broken(change):  # type: ignore[no-untyped-def]
    data = yaml.safe_load(CRITERIA_FILE.read_text(encoding="utf-8"))
    change(data)
    return data


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["criteria"].append(dict(d["criteria"][0])), "duplicate key"),
    (lambda d: d["criteria"][0].update(theme="money"), "theme 'money'"),
    (lambda d: d["criteria"][0].update(level="optional"), "essential or desirable"),
    (lambda d: d["criteria"][0].update(extra="x"), "unknown ['extra']"),
    (lambda d: d["criteria"][0].pop("text"), "missing ['text']"),
    (lambda d: d["criteria"][0].update(title=" "), "title must be non-empty"),
    (lambda d: d["themes"].pop(), "must be exactly"),
    (lambda d: d.update(criteria=[c for c in d["criteria"]
                                  if not (c["theme"] == "time" and c["level"] == "essential")]),
     "no essential criterion"),
])
def test_the_criteria_file_is_checked_strictly(change, message):
    with pytest.raises(CriteriaError, match=re.escape(message)):
        parse_commitment(_broken(change))


def test_a_champion_starts_at_their_own_home(app, world, client, login):
    login(client, world.champion_email)
    home = client.get("/", follow_redirects=True)
    assert home.request.path == "/champion/"
    assert "Example NHS Foundation Trust" in home.text
    assert 'href="/champion/commitment"' in home.text


def test_updating_a_criterion_keeps_its_history_and_audits_it(app, world, client, login):
    login(client, world.champion_email)
    page = f"/champion/commitment/{KEY}"
    assert "Provide protected time in rotas" in client.get(page).text
    for status, owner in (("in_progress", "Director of medical education"),
                          ("met", "Director of medical education")):
        response = post_form(client, page, {
            "status": status, "owner": owner, "evidence": "https://intranet/rota-policy",
            "review_on-day": "31", "review_on-month": "3", "review_on-year": "2027"})
        assert response.status_code == 302
    same = form_fields(client.get(page), action=page)
    unchanged = post_form(client, page, same, follow_redirects=True)
    assert "Nothing was changed" in unchanged.text
    with app.app_context():
        rows = db.session.scalars(db.select(CommitmentStatus).order_by(CommitmentStatus.id)).all()
        assert [(r.status, r.review_on) for r in rows] == [
            ("in_progress", date(2027, 3, 31)), ("met", date(2027, 3, 31))]
    history = text_of(client.get(page))
    assert "Status: Met" in history and "Status: In progress" in history
    assert "Cham Pion" in history
    events = audit_events(app, "commitment.updated")
    assert [e[2]["changes"]["status"] for e in events] == [
        ["not_started", "in_progress"], ["in_progress", "met"]]
    tracker = client.get("/champion/commitment")
    assert f'id="{KEY}" data-status="met"' in tracker.text


def test_a_review_date_that_has_passed_is_flagged(app, world, login):
    for day, overdue in ((date(2026, 5, 31), False), (date(2026, 6, 2), True)):
        with time_machine.travel(day):
            client = app.test_client()
            login(client, world.champion_email)
            if not overdue:
                post_form(client, f"/champion/commitment/{KEY}", {
                    "status": "in_progress", "owner": "", "evidence": "",
                    "review_on-day": "1", "review_on-month": "6", "review_on-year": "2026"})
            tracker = client.get("/champion/commitment")
            assert tracker.status_code == 200
            assert ("Overdue" in tracker.text) is overdue
            assert ("1 review is overdue" in text_of(client.get("/champion/"))) is overdue


@pytest.mark.parametrize(("data", "message"), [
    ({"status": "finished"}, "Select a status"),
    ({"status": "met", "owner": "x" * 201}, "200 characters or fewer"),
    ({"status": "met", "review_on-day": "31", "review_on-month": "2",
      "review_on-year": "2027"}, "must be a real date"),
    ({"status": "met", "review_on-day": "1", "review_on-month": "1",
      "review_on-year": "1999"}, "between 2000 and 2999"),
])
def test_bad_input_is_refused_with_a_message(app, world, client, login, data, message):
    login(client, world.champion_email)
    response = post_form(client, f"/champion/commitment/{KEY}", data)
    assert response.status_code == 400
    assert message in text_of(response)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(CommitmentStatus)) == 0


def test_an_unknown_criterion_is_not_found(world, client, login):
    login(client, world.champion_email)
    assert client.get("/champion/commitment/no-such-thing").status_code == 404


def test_a_lead_invites_a_champion_for_an_organisation(app, world, client, login, make_user,
                                                        smtp):
    make_user("lead@nhs.net", role="admin")
    login(client, "lead@nhs.net")
    page = client.get("/admin/champions")
    assert "Cham Pion" in page.text and "Invite a leadership champion" in page.text
    missing = post_form(client, "/admin/champions", {"name": "Ann Other",
                                                     "email": "ann@nhs.net",
                                                     "organisation_id": "0"})
    assert missing.status_code == 400 and "Select an organisation" in text_of(missing)
    sent = post_form(client, "/admin/champions", {
        "name": "Ann Other", "email": "Ann@NHS.net", "organisation_id": str(world.organisation_id)})
    assert sent.status_code == 302
    with app.app_context():
        person = db.session.scalar(db.select(User).where(User.email == "ann@nhs.net"))
        assert (person.role, person.organisation_id) == ("champion", world.organisation_id)
    assert any("Activate your feedback360 account" in m["Subject"] for m in smtp.messages)
    assert audit_events(app, "user.invited")[-1][2] == {
        "role": "champion", "organisation_id": world.organisation_id}


def test_the_invite_service_ties_champions_and_only_them_to_an_organisation(app, world):
    with app.test_request_context():
        with pytest.raises(DomainError, match="invite them from Leadership champions"):
            accounts.invite_user(email="c@nhs.net", name="C", role="champion", invited_by=None)
        with pytest.raises(DomainError, match="Only a leadership champion"):
            accounts.invite_user(email="c@nhs.net", name="C", role="coach", invited_by=None,
                                 organisation=db.session.get(Organisation,
                                                             world.organisation_id))


@pytest.mark.parametrize("path", ["/champion/", "/champion/commitment",
                                  f"/champion/commitment/{KEY}", "/champion/board"])
def test_nobody_else_reaches_the_champions_pages(app, world, login, make_user, path):
    make_user("lead@nhs.net", role="admin")
    for email in ("t0@nhs.net", "lead@nhs.net"):
        client = app.test_client()
        login(client, email)
        assert client.get(path).status_code == 403, email


def test_a_lead_edits_a_champion_and_a_role_change_ends_the_organisation(app, world, client,
                                                                        login, make_user):
    make_user("lead@nhs.net", role="admin")
    with app.app_context():
        champion_id = db.session.scalar(db.select(User.id).where(User.role == "champion"))
    login(client, "lead@nhs.net")
    page = f"/admin/users/{champion_id}/edit"
    edit = client.get(page)
    assert edit.status_code == 200, edit.location
    fields = form_fields(edit, index=1)  # after the header's sign-out form
    assert fields["role"] == "champion"
    renamed = post_form(client, page, {**fields, "name": "Dr Cham Pion"})
    assert renamed.status_code == 302
    moved = post_form(client, page, {**fields, "name": "Dr Cham Pion", "role": "coach"})
    assert moved.status_code == 302
    with app.app_context():
        person = db.session.get(User, champion_id)
        assert (person.name, person.role, person.organisation_id) == (
            "Dr Cham Pion", "coach", None)
