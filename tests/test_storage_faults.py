"""SQLite that can read but not write (read-only file, disk full): a 503 page, nothing half-written.

Root ignores file modes, so the faults are made with pragmas set on every new connection of the
app's engine: ``query_only`` gives SQLite's "attempt to write a readonly database" and a
``max_page_count`` at the file's current size gives "database or disk is full"."""

from __future__ import annotations

import logging

import pytest
from helpers import new_cycle, start_cycle
from sqlalchemy import event, func, select

from feedback360.extensions import db

pytestmark = pytest.mark.usefixtures("sqlite_only")

FAULTS = {
    "read-only": ["PRAGMA query_only = ON"],
    "disk full": ["PRAGMA max_page_count = 1"],  # clamped to the current size: no page more
}


@pytest.fixture
def sqlite_only(db_backend):
    if db_backend != "sqlite":
        pytest.skip("SQLite's own write faults; PostgreSQL's are the server's to report")


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {table.name: db.session.scalar(select(func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


def fault(app, pragmas: list[str]):
    """Every connection from now on is opened with ``pragmas``; returns the undo."""
    with app.app_context():
        engine = db.engine

    def on_connect(dbapi_connection, _record):
        for pragma in pragmas:
            dbapi_connection.execute(pragma)

    engine.dispose()
    event.listen(engine, "connect", on_connect)

    def clear():
        event.remove(engine, "connect", on_connect)
        engine.dispose()
    return clear


@pytest.mark.parametrize("pragmas", FAULTS.values(), ids=FAULTS.keys())
def test_a_write_the_database_refuses_is_a_503_and_rolled_back(app, client, make_user, login,
                                                                pragmas, caplog):
    make_user("trainee@nhs.net")
    login(client, "trainee@nhs.net")
    before = row_counts(app)
    clear = fault(app, pragmas)

    with caplog.at_level(logging.ERROR, logger="feedback360.error_pages"):
        response = start_cycle(client)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "<h1>The service is temporarily unable to save changes</h1>" in response.text
    assert "Traceback" not in response.text
    assert any("refused a write" in record.getMessage() for record in caplog.records)
    assert client.get("/cycles/new").status_code == 200  # reading still works

    clear()
    assert row_counts(app) == before  # nothing of the refused request was written
    new_cycle(client)  # once the fault clears, writes work again without a restart
