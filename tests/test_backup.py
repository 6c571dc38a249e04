"""Backups: ``flask backup PATH`` on SQLite, ``pg_dump`` on PostgreSQL, and a restore of each
end to end: back up, change something, restore, and the change is gone while every row of
every table is back as it was."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import audit_events
from test_survey import launch_cycle

from feedback360.backup import backup_sqlite
from feedback360.extensions import db
from feedback360.models import User


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return {table.name: [tuple(row) for row in connection.execute(
                        sa.select(table).order_by(*table.primary_key.columns))]
                    for table in db.metadata.sorted_tables}
    finally:
        engine.dispose()


def let_go(app) -> None:
    """Close the app's pooled connections, as stopping the service would."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def world(app, smtp, make_user):
    """Accounts, a launched cycle with its invitations, outbox and audit rows."""
    make_user("ada.admin@nhs.net", role="admin", name="Ada Admin")
    launch_cycle(app, smtp, make_user("alex.trainee@nhs.net", name="Alex Trainee"))


def change_something(app, make_user) -> None:
    make_user("late.comer@nhs.net", name="Late Comer")
    with app.app_context():
        db.session.scalar(db.select(User).filter_by(email="alex.trainee@nhs.net")).name = "Renamed"
        db.session.commit()


@pytest.fixture
def sqlite_only(db_backend):
    if db_backend != "sqlite":
        pytest.skip("flask backup copies a SQLite file; PostgreSQL is backed up with pg_dump")


@pytest.mark.usefixtures("sqlite_only", "world")
def test_a_sqlite_backup_restores_everything_as_it_was(app, runner, make_user, database_url,
                                                       tmp_path):
    before = snapshot(database_url)
    assert before["invitations"] and before["outbox_messages"] and before["users"]
    target = tmp_path / "backups" / "nightly.sqlite"
    target.parent.mkdir()

    result = runner.invoke(args=["backup", str(target)])

    assert result.exit_code == 0, result.output
    assert f"to {target} in " in result.output and "integrity check ok" in result.output
    size = target.stat().st_size
    assert f"Backed up {size:,} bytes" in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [(None, "nightly.sqlite", {"size": size})] == audit_events(app, "backup.made")
    change_something(app, make_user)
    assert snapshot(database_url) != before

    let_go(app)
    live = Path(sa.engine.make_url(database_url).database)
    for sidecar in (live, live.with_name(live.name + "-wal"), live.with_name(live.name + "-shm")):
        sidecar.unlink(missing_ok=True)
    shutil.copyfile(target, live)

    assert snapshot(database_url) == before  # the change is gone, the rest is all there
    with app.app_context():
        assert db.session.scalar(db.select(User).filter_by(email="alex.trainee@nhs.net")
                                 ).name == "Alex Trainee"


@pytest.mark.usefixtures("sqlite_only", "world")
def test_the_backup_is_consistent_while_another_connection_writes(database_url, tmp_path):
    committed = snapshot(database_url)
    live = Path(sa.engine.make_url(database_url).database)
    writer = sqlite3.connect(live, timeout=1)
    try:
        writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as a busy worker would
        writer.execute("UPDATE users SET name = 'Half Written'")
        # Not held up by the writer (WAL), and without its uncommitted change.
        backup_sqlite(live, tmp_path / "during.sqlite", busy_timeout_s=0.5)
    finally:
        writer.rollback()
        writer.close()
    copy = sqlite3.connect(tmp_path / "during.sqlite")
    try:
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file
    finally:
        copy.close()
    assert snapshot(f"sqlite:///{tmp_path / 'during.sqlite'}") == committed


@pytest.mark.usefixtures("sqlite_only")
def test_an_existing_file_is_replaced_only_with_force(app, runner, tmp_path):
    target = tmp_path / "nightly.sqlite"
    target.write_text("last night's")

    refused = runner.invoke(args=["backup", str(target)])
    assert refused.exit_code == 1
    assert "already exists: give --force to replace it" in refused.output
    assert target.read_text() == "last night's"
    assert not audit_events(app, "backup.made")

    assert runner.invoke(args=["backup", "--force", str(target)]).exit_code == 0
    assert sqlite3.connect(target).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not list(tmp_path.glob(".nightly.sqlite.partial-*"))


@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize(("target", "message"), [
    ("missing/nightly.sqlite", "There is no directory"),
    (".", "is a directory"),
    ("feedback360.sqlite", "cannot be written over the database itself"),
])
def test_a_backup_nowhere_sensible_is_refused(runner, database_url, tmp_path, monkeypatch,
                                              target, message):
    monkeypatch.chdir(Path(sa.engine.make_url(database_url).database).parent)
    result = runner.invoke(args=["backup", "--force", target])
    assert result.exit_code != 0
    assert message in result.output


def test_on_postgresql_it_says_to_use_pg_dump(make_app, tmp_path, db_backend, database_url):
    if db_backend == "sqlite":
        pytest.skip("needs PostgreSQL")
    result = make_app().test_cli_runner().invoke(args=["backup", str(tmp_path / "x.dump")])
    assert result.exit_code == 1
    assert "back it up with pg_dump" in result.output and "pg_restore" in result.output
    assert not (tmp_path / "x.dump").exists()


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize("restore", ["pg_restore over the database", "psql into a new one"])
def test_a_pg_dump_restores_everything_as_it_was(app, make_user, db_backend, database_url,
                                                 pg_cluster_module, tmp_path, restore):
    if db_backend != "postgresql":
        pytest.skip("needs PostgreSQL")
    cluster, bindir = pg_cluster_module, pg_cluster_module.find_bindir()
    url = cluster.libpq_url(database_url)
    before = snapshot(database_url)
    dump = tmp_path / "feedback360.dump"
    # The README's commands, word for word.
    if restore.startswith("pg_restore"):
        run([bindir / "pg_dump", "--format=custom", f"--file={dump}", url])
    else:
        run([bindir / "pg_dump", "--format=plain", f"--file={dump}", url])
    change_something(app, make_user)
    assert snapshot(database_url) != before

    let_go(app)
    if restore.startswith("pg_restore"):
        run([bindir / "pg_restore", "--clean", "--if-exists", "--no-owner",
             "--single-transaction", f"--dbname={url}", dump])
        assert snapshot(database_url) == before
        return
    name = f"{sa.engine.make_url(database_url).database}_restored"
    restored = cluster.create_database(database_url, name, replace=True)
    try:
        run([bindir / "psql", "--single-transaction", "-v", "ON_ERROR_STOP=1",
             "-d", cluster.libpq_url(restored), "-f", dump])
        assert snapshot(restored) == before
    finally:
        cluster.drop_database(database_url, name)


def run(argv: list) -> None:
    done = subprocess.run([str(part) for part in argv], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
