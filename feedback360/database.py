"""Engine set-up per database: SQLite gets WAL, foreign keys, a busy timeout and secure delete."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import make_url

from .extensions import db


def is_sqlite(uri: str) -> bool:
    return make_url(uri).get_backend_name() == "sqlite"


def prepare_engine_options(app: Flask) -> None:
    """Adjust engine options before Flask-SQLAlchemy creates the engine."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if is_sqlite(uri):
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("timeout", app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
        options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def configure_engine(app: Flask) -> None:
    """Attach the SQLite pragmas to the engine Flask-SQLAlchemy created for this app."""
    from . import reconnect

    reconnect.install()
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first (Flask runs them last
    # registered first) and leaves that one a closed session.
    app.teardown_appcontext(lambda _error: reconnect.close_session(db.session()))
    if not is_sqlite(app.config["SQLALCHEMY_DATABASE_URI"]):
        return
    busy_timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    with app.app_context():
        engine = db.engine

    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout}")
            # Freed pages (a deleted draft, the sealed rows a close wrote out, a changed row's
            # old copy) are zeroed, not left for a copy of the file to read.
            cursor.execute("PRAGMA secure_delete = ON")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    event.listen(engine, "connect", set_pragmas)
