"""``flask backup``: an online, consistent copy of the SQLite database file.

SQLite's backup API copies the database page by page under a read transaction, so the copy is
the database as at one commit even while gunicorn workers keep writing (WAL mode: writers are
not blocked, and a page a writer changes mid-copy restarts the copy from a fresh snapshot). The
copy is written beside the target under a temporary name, checked with ``PRAGMA
integrity_check`` and only then renamed into place, so a failed or interrupted backup never
leaves a half-written file under the name a restore would use. PostgreSQL is backed up with
``pg_dump`` (README, "Backups"): the app does not try to be a second pg_dump.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

# Pages copied per step; between steps the source is unlocked, so writers are never held up
# for long on a large file.
PAGES_PER_STEP = 1024


class BackupError(Exception):
    """The backup was refused or failed; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int  # bytes
    seconds: float


def sqlite_path(database_uri: str) -> Path:
    """The database file behind a SQLite URI, or a BackupError saying what to do instead."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            f"The database is {url.get_backend_name()}, not SQLite: back it up with pg_dump "
            "(pg_dump --format=custom --file=feedback360.dump \"$DATABASE_URL\" with the "
            "URL's '+psycopg' removed; restore with pg_restore). See the README, \"Backups\".")
    if url.database in (None, "", ":memory:"):
        raise BackupError("The database is in memory: there is no file to back up.")
    return Path(url.database)


def backup_sqlite(source: Path, target: Path, *, force: bool = False,
                  busy_timeout_s: float = 15.0) -> Backup:
    """Copy the live database at ``source`` to ``target``: consistent, checked, atomic."""
    if not source.is_file():
        raise BackupError(f"There is no database file at {source}.")
    if target.resolve() == source.resolve():
        raise BackupError("The backup cannot be written over the database itself.")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists: give --force to replace it.")
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give a file name.")
    if not target.parent.is_dir():
        raise BackupError(f"There is no directory {target.parent}.")
    started = time.monotonic()
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _copy(source, partial, busy_timeout_s)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(target, target.stat().st_size, time.monotonic() - started)


def _copy(source: Path, partial: Path, busy_timeout_s: float) -> None:
    partial.unlink(missing_ok=True)
    # Readable by the owner only, like the instance folder's secret key: it is every account,
    # name and email address the service holds.
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    reader = sqlite3.connect(source, timeout=busy_timeout_s)
    try:
        copy = sqlite3.connect(partial)
        try:
            reader.backup(copy, pages=PAGES_PER_STEP)
            # One self-contained file: a restore is copying it into place, with no -wal beside
            # it to lose or to mismatch (the app turns WAL back on when it opens the file).
            copy.execute("PRAGMA journal_mode = DELETE")
            problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError("The copy failed its integrity check, so it was not kept: "
                                  + "; ".join(problems[:5]))
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(f"The backup failed: {error}") from None
    finally:
        reader.close()
