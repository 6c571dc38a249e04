"""The audit trail (issue 10, point 5): each event says where it came from, and the database
itself refuses to change or delete an event, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from feedback360 import audit
from feedback360.extensions import db
from feedback360.models import AuditEvent, User


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


@pytest.mark.parametrize("agent, stored", [
    ("Mozilla/5.0 (Windows NT 10.0) Edge/120", "Mozilla/5.0 (Windows NT 10.0) Edge/120"),
    ("A" * 500, "A" * 200),
    ("", None),
])
def test_an_event_records_the_client_address_and_browser(app, client, make_user, login,
                                                          agent, stored):
    user = make_user("t@nhs.net")
    client.environ_base.update(HTTP_USER_AGENT=agent, REMOTE_ADDR="198.51.100.7")
    assert login(client, user).status_code == 302
    [event] = events(app, "login")
    assert (event.client_address, event.user_agent) == ("198.51.100.7", stored)
    assert event.created_at.tzinfo is not None


def test_an_event_outside_a_request_has_no_origin(app, make_user):
    user = make_user("a@nhs.net", role="admin")
    with app.app_context():
        audit.record(db.session.get(User, user.id), "test.cli", "somewhere")
        db.session.commit()
    [event] = events(app, "test.cli")
    assert event.client_address is None and event.user_agent is None


@pytest.fixture
def stored_event(app, make_user) -> int:
    user = make_user("a@nhs.net", role="admin")
    with app.app_context():
        event = audit.record(db.session.get(User, user.id), "cycle.released", "cycle:1")
        db.session.commit()
        return event.id


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'nothing.happened' WHERE id = :id",
    "UPDATE audit_events SET actor_id = NULL WHERE id = :id",
    "DELETE FROM audit_events WHERE id = :id",
])
def test_the_database_refuses_to_change_or_delete_an_event(app, stored_event, statement):
    with app.app_context():
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement), {"id": stored_event})
        db.session.rollback()
        assert db.session.get(AuditEvent, stored_event).action == "cycle.released"


def test_the_orm_cannot_delete_an_event_either(app, stored_event):
    with app.app_context():
        db.session.delete(db.session.get(AuditEvent, stored_event))
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.commit()


def test_a_user_with_events_cannot_be_deleted(app, stored_event):
    """``actor_id`` is SET NULL on delete, an UPDATE the trail refuses: deleting a user who has
    done anything would erase who did it. The app deactivates users and never deletes them."""
    with app.app_context():
        actor = db.session.get(AuditEvent, stored_event).actor
        db.session.delete(actor)
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(AuditEvent, stored_event).actor_id == actor.id


# --------------------------------------------------------------------------------------------
# Events the error handlers record


def test_a_csrf_failure_is_recorded_with_who_and_where(app, client, make_user, login):
    user = make_user("t@nhs.net")
    login(client, user)
    assert client.post("/auth/logout", data={"csrf_token": "forged"}).status_code == 400
    [event] = events(app, "csrf.failed")
    assert (event.actor_id, event.target, event.detail) == (user.id, "auth.logout",
                                                            {"method": "POST"})
    assert event.client_address == "127.0.0.1"


def test_a_csrf_failure_on_a_survey_page_is_not_recorded(app, client):
    """Raters are anonymous: no address and time beside a survey endpoint."""
    assert client.post("/survey/submit", data={"csrf_token": "forged"}).status_code == 400
    assert events(app, "csrf.failed") == []


@pytest.mark.parametrize("role, status", [("trainee", 404), ("admin", 403)])
def test_refused_access_to_an_object_is_recorded(app, client, make_user, login, role, status):
    owner = make_user("owner@nhs.net")
    with app.app_context():
        from feedback360.services import cycles
        cycle = cycles.create_cycle(db.session.get(User, owner.id), instrument_key="clcf",
                                    title="Spring 360", closes_on=None)
        db.session.commit()
        cycle_id = cycle.id
    other = make_user(f"other-{role}@nhs.net", role=role)
    login(client, other)
    assert client.get(f"/cycles/{cycle_id}/report").status_code == status
    [event] = events(app, "access.refused")
    assert (event.actor_id, event.target, event.detail) == (
        other.id, "reports.dashboard", {"status": status, "cycle_id": cycle_id})


def test_a_missing_page_or_an_anonymous_visitor_is_not_an_access_event(app, client, make_user,
                                                                      login):
    assert client.get("/cycles/1/report").status_code == 302  # to sign in
    login(client, make_user("t@nhs.net"))
    assert client.get("/no/such/page").status_code == 404
    assert events(app, "access.refused") == []
