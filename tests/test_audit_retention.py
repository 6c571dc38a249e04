"""Audit retention (issue 10, point 5): ``flask purge-audit`` deletes events older than
AUDIT_RETENTION_DAYS, and the database still refuses to delete anything newer, on SQLite and
PostgreSQL alike, even when asked in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from feedback360.config import ConfigurationError, load
from feedback360.extensions import db
from feedback360.models import AuditEvent

NOW = datetime.now(UTC)
AGES = {"ancient": 3000, "old": 400, "recent": 100, "today": 0}  # days, with 365 kept


@pytest.fixture
def retained(make_app):
    """An app keeping 365 days, and one event of each age in ``AGES`` (their ids by name)."""
    app = make_app(AUDIT_RETENTION_DAYS=365)
    with app.app_context():
        events = {name: AuditEvent(action=f"test.{name}", created_at=NOW - timedelta(days=days))
                  for name, days in AGES.items()}
        db.session.add_all(events.values())
        db.session.commit()
        return app, {name: event.id for name, event in events.items()}


def actions_left(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(db.select(AuditEvent.action)))


def purge(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["purge-audit", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_dry_run_counts_and_deletes_nothing(retained):
    app, _ = retained
    assert "2 audit event(s) from before" in purge(app, "--dry-run")
    assert "would be deleted (dry run)" in purge(app, "--dry-run")
    assert actions_left(app) == {f"test.{name}" for name in AGES}


def test_purge_deletes_only_the_old_records_itself_and_is_idempotent(retained):
    app, _ = retained
    assert "2 audit event(s) from before" in purge(app)
    assert "0 audit event(s)" in purge(app)  # a second run finds nothing more
    assert actions_left(app) == {"test.recent", "test.today", "audit.purged"}
    with app.app_context():
        runs = db.session.scalars(db.select(AuditEvent).filter_by(action="audit.purged")
                                  .order_by(AuditEvent.id)).all()
        assert [run.detail["deleted"] for run in runs] == [2, 0]
        assert set(runs[0].detail) == {"deleted", "before"} and runs[0].actor_id is None


def test_keep_forever_deletes_nothing(make_app):
    app = make_app(AUDIT_RETENTION_DAYS=0)
    with app.app_context():
        db.session.add(AuditEvent(action="test.ancient", created_at=NOW - timedelta(days=9000)))
        db.session.commit()
    assert "kept forever" in purge(app)
    assert actions_left(app) == {"test.ancient"}


@pytest.mark.parametrize("purged_first", [False, True], ids=["never purged", "after a purge"])
@pytest.mark.parametrize("age", ["recent", "today"])
def test_sql_cannot_delete_an_event_inside_the_retention(retained, purged_first, age):
    app, ids = retained
    if purged_first:
        purge(app)
    with app.app_context():
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[age]})
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, ids[age]))
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        with pytest.raises(DatabaseError, match="append-only"):  # nor change it
            db.session.execute(text("UPDATE audit_events SET action = 'x' WHERE id = :id"),
                               {"id": ids[age]})
    assert f"test.{age}" in actions_left(app)


def test_sql_can_delete_only_what_a_purge_has_released(retained):
    app, ids = retained
    with app.app_context():  # before any purge, not even the ancient event
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events WHERE id = :id"),
                               {"id": ids["ancient"]})
        db.session.rollback()
    purge(app)
    assert "test.ancient" not in actions_left(app)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_retention SET purged_before = :now",  # into the last 89 days
    "UPDATE audit_retention SET purged_before = :long_ago",  # backwards
    "DELETE FROM audit_retention",
    "INSERT INTO audit_retention (id, purged_before) VALUES (2, :long_ago)",
], ids=["forward-into-window", "backwards", "delete", "second-row"])
def test_the_cutoff_only_moves_forward_and_never_into_the_last_89_days(retained, statement):
    app, ids = retained
    purge(app)
    with app.app_context():
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement), {"now": NOW, "long_ago": NOW - timedelta(
                days=5000)})
        db.session.rollback()
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events WHERE id = :id"),
                               {"id": ids["recent"]})


@pytest.mark.parametrize(("value", "expected"), [
    ("0", 0), ("90", 90), (" 2190 ", 2190), (400, 400),
    ("89", None), ("-1", None), ("six years", None), (True, None), ("36501", None),
])
def test_the_retention_setting_is_checked(tmp_path, value, expected):
    overrides = {"FEEDBACK360_ENV": "testing", "SECRET_KEY": "k", "AUDIT_RETENTION_DAYS": value}
    if expected is None:
        with pytest.raises(ConfigurationError, match="AUDIT_RETENTION_DAYS"):
            load(str(tmp_path), overrides)
    else:
        assert load(str(tmp_path), overrides)["AUDIT_RETENTION_DAYS"] == expected


def test_the_default_keeps_six_years(tmp_path, monkeypatch):
    monkeypatch.delenv("AUDIT_RETENTION_DAYS", raising=False)
    assert load(str(tmp_path), {"FEEDBACK360_ENV": "testing", "SECRET_KEY": "k"})[
        "AUDIT_RETENTION_DAYS"] == 6 * 365
