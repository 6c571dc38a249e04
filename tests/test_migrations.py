"""The Alembic migrations are the only way the schema changes: they build exactly the models."""

from __future__ import annotations

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
