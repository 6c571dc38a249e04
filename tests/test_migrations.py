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
