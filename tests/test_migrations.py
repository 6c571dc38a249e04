"""The Alembic migrations are the only way the schema changes: they build exactly the models."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from feedback360 import create_app
from feedback360.extensions import db


@pytest.fixture
def empty_database_url(database_url: str, tmp_path) -> Iterator[str]:
    """A database with no tables: a new SQLite file, or a new PostgreSQL database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def migrations_app(empty_database_url: str):
    app = create_app({"FEEDBACK360_ENV": "testing", "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": empty_database_url})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_upgrade_builds_exactly_the_models_schema(migrations_app):
    with migrations_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == [], f"models and migrations differ: {differences}"


def test_downgrade_removes_everything_and_upgrade_works_again(migrations_app):
    with migrations_app.app_context():
        upgrade()
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        assert "responses" in inspect(db.engine).get_table_names()


def test_comments_get_handles_and_audit_events_lose_the_response_id(migrations_app):
    """0007: existing comments each get a handle of their own, and a hiding audited with the
    response id (which pairs a rater's comments) names the comment by its handle instead."""
    rater = uuid.uuid4()
    with migrations_app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (email, name, role, active, session_nonce, created_at) "
                "VALUES ('t@nhs.net', 'T', 'trainee', true, 'n', CURRENT_TIMESTAMP)"))
            user = connection.execute(text("SELECT id FROM users")).scalar_one()
            connection.execute(text(
                "INSERT INTO instrument_versions (key, version, sha256, title, definition, "
                "created_at) VALUES ('clcf', 1, :sha, 'CLCF', '{}', CURRENT_TIMESTAMP)"),
                {"sha": "0" * 64})
            version = connection.execute(text("SELECT id FROM instrument_versions")).scalar_one()
            connection.execute(text(
                "INSERT INTO feedback_cycles (trainee_id, instrument_version_id, title, status, "
                "closes_on, created_at) VALUES (:user, :version, 'C', 'draft', '2026-01-01', "
                "CURRENT_TIMESTAMP)"), {"user": user, "version": version})
            cycle = connection.execute(text("SELECT id FROM feedback_cycles")).scalar_one()
            stored = rater.hex if db.engine.dialect.name == "sqlite" else str(rater)
            connection.execute(text(
                "INSERT INTO responses (id, cycle_id, rater_group, is_self) "
                "VALUES (:id, :cycle, 'peer', false)"), {"id": stored, "cycle": cycle})
            for prompt in ("strengths", "development"):
                connection.execute(text(
                    "INSERT INTO comments (response_id, prompt_key, text) "
                    "VALUES (:id, :prompt, 'Fine')"), {"id": stored, "prompt": prompt})
            connection.execute(text(
                "INSERT INTO audit_events (actor_id, action, target, detail, created_at) "
                "VALUES (:user, 'comment.hidden', 'cycle:1', :detail, CURRENT_TIMESTAMP)"),
                {"user": user, "detail": json.dumps(
                    {"response": str(rater), "prompt": "development", "reason": "Names"})})
        upgrade()
        with db.engine.connect() as connection:
            handles = dict(connection.execute(
                text("SELECT prompt_key, handle FROM comments")).all())
            [detail] = connection.execute(text("SELECT detail FROM audit_events")).scalars()
    assert len(set(handles.values())) == 2 and all(len(h) == 22 for h in handles.values())
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail == {"comment": handles["development"], "prompt": "development",
                      "reason": "Names"}


def test_0005_seals_drafts_and_open_cycles_answers_and_downgrade_opens_them(migrations_app):
    """Upgrading seals what was readable (drafts; rater responses of open cycles) and removes
    the plain rows; a closed cycle's responses stay; downgrading opens them again."""
    from datetime import date, timedelta

    from sqlalchemy import func, insert, select

    from feedback360 import sealing
    from feedback360.models import (
        Answer,
        Comment,
        FeedbackCycle,
        InstrumentVersion,
        Invitation,
        Response,
        User,
    )

    draft = {"answers": {"pq-sa-1": 3, "pq-sa-2": "na"}, "comments": {"strengths": "Kind."}}
    with migrations_app.app_context():
        upgrade(revision="0004")
        run = db.session.execute
        run(insert(User.__table__).values(id=1, email="t@nhs.net", name="T", role="trainee",
                                             session_nonce="s" * 32))
        run(insert(InstrumentVersion.__table__).values(id=1, key="clcf", version=1, sha256="0" * 64,
                                                       title="CLCF", definition={}))
        for cycle_id, status in ((1, "open"), (2, "closed")):
            run(insert(FeedbackCycle.__table__).values(
                id=cycle_id, trainee_id=1, instrument_version_id=1, title="C", status=status,
                closes_on=date.today() + timedelta(days=9), opened_at=func.now(),
                closed_at=func.now() if status == "closed" else None))
            for n, group in enumerate(("peer", "nursing")):
                response_id = uuid.uuid4()
                run(insert(Response.__table__).values(id=response_id, cycle_id=cycle_id,
                                                      rater_group=group, is_self=False))
                run(insert(Answer.__table__).values(response_id=response_id,
                                                    item_key="pq-sa-1", score=n + 2))
                # As 0004 had it: the model's later columns (the comment's handle) are not
                # there yet.
                run(text("INSERT INTO comments (response_id, prompt_key, text) "
                         "VALUES (:id, 'strengths', :text)"),
                    {"id": response_id.hex if db.engine.name == "sqlite" else str(response_id),
                     "text": f"Cycle {cycle_id} rater {n}"})
        run(insert(Invitation.__table__).values(
            id=7, cycle_id=1, rater_email="r@nhs.net", rater_name="R", rater_group="peer",
            status="opened", token_nonce="n" * 32))
        as_json = "CAST(:d AS JSON)" if db.engine.name == "postgresql" else ":d"
        run(text(f"UPDATE invitations SET draft = {as_json}"),  # noqa: S608
            {"d": '{"answers": {"pq-sa-1": 3, "pq-sa-2": "na"}, '
                  '"comments": {"strengths": "Kind."}}'})
        db.session.commit()

        upgrade()
        [blob] = run(text("SELECT draft FROM invitations")).scalars()
        assert sealing.unseal(blob, purpose=sealing.DRAFT, owner=7) == draft
        sealed = run(text("SELECT cycle_id, sealed FROM sealed_responses")).all()
        assert sorted((sealing.unseal(b, purpose=sealing.SUBMITTED, owner=c)["g"], c)
                      for c, b in sealed) == [("nursing", 1), ("peer", 1)]
        texts = set(run(select(Comment.text)).scalars())
        assert texts == {"Cycle 2 rater 0", "Cycle 2 rater 1"}  # closed: as it was
        assert run(select(func.count()).select_from(Answer)).scalar() == 2
        db.session.commit()

        downgrade(revision="0004")
        [plain] = run(text("SELECT draft FROM invitations")).scalars()
        assert (json.loads(plain) if isinstance(plain, str) else plain) == draft
        rows = run(text("SELECT r.cycle_id, r.rater_group, a.score, c.text FROM responses r "
                        "JOIN answers a ON a.response_id = r.id "
                        "JOIN comments c ON c.response_id = r.id")).all()
        assert sorted(tuple(row) for row in rows) == [
            (1, "nursing", 3, "Cycle 1 rater 1"), (1, "peer", 2, "Cycle 1 rater 0"),
            (2, "nursing", 3, "Cycle 2 rater 1"), (2, "peer", 2, "Cycle 2 rater 0")]
        db.session.commit()


def test_0012_lets_purge_delete_only_past_the_cutoff_and_downgrade_refuses_all(migrations_app):
    """The triggers as the migrations make them (not only as the models do): a purge deletes an
    old event; a recent one, and any one after downgrading to 0009, cannot be deleted."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.exc import DatabaseError

    from feedback360.models import AuditEvent
    from feedback360.services import audit_retention

    now = datetime.now(UTC)
    with migrations_app.app_context():
        upgrade()
        db.session.add_all([AuditEvent(action="test.old", created_at=now - timedelta(days=3000)),
                            AuditEvent(action="test.new", created_at=now)])
        db.session.commit()
        assert audit_retention.purge().count == 1
        db.session.commit()
        for statement in ("DELETE FROM audit_events WHERE action = 'test.new'",
                          "UPDATE audit_retention SET purged_before = :now"):
            with pytest.raises(DatabaseError):
                db.session.execute(text(statement), {"now": now})
            db.session.rollback()
        downgrade(revision="0009")
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events"))
        db.session.rollback()
