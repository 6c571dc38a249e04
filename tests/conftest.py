"""Shared fixtures (Flask tutorial style): a fresh app and database per test, a real SMTP server.

Database choice, by the ``DATABASE_URL`` environment variable:

* unset (or SQLite): every test gets a new SQLite file in its ``tmp_path``, schema from the models;
* ``postgresql+psycopg://...`` (``make test`` runs the suite a second time under
  ``scripts/pg_cluster.py``): one database per test session (``feedback360_test``, suffixed with
  the xdist worker id if any) created next to the one in the URL, schema created once, and every
  table TRUNCATEd after each test. Tests commit for real (no rolled-back outer transaction), so
  concurrency tests can use several connections.

Plain helper functions live in ``tests/helpers.py`` (``from helpers import csrf_token``).
Nothing here imports Playwright: browser fixtures are in ``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import email
import email.policy
import functools
import importlib.util
import itertools
import os
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# ``from helpers import ...`` needs tests/ on sys.path (pytest's default "prepend" import mode
# adds it; make sure under other modes too); ``from tests.helpers import ...`` would need the
# project root, which the pytest entry point does not add.
for _path in (str(TESTS), str(ROOT)):
    if _path not in sys.path:
        sys.path.append(_path)

from helpers import (  # noqa: E402
    DEFAULT_PASSWORD,
    csrf_token,
    enrol_second_factor,
    free_port,
    message_links,
    unused_code,
)

TEST_SECRET_KEY = "feedback360-tests-not-a-secret"
PG_TEST_DATABASE = "feedback360_test"


# --------------------------------------------------------------------------------------------
# Database


def _load_pg_cluster():
    spec = importlib.util.spec_from_file_location("pg_cluster", ROOT / "scripts" / "pg_cluster.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _backend_from_environment() -> tuple[str, str | None]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite", None
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return "sqlite", None  # still a fresh file per test: never a shared or on-disk demo DB
    if backend == "postgresql":
        return "postgresql", url
    raise pytest.UsageError(
        f"DATABASE_URL must be SQLite or PostgreSQL for the tests, not {backend}")


def _metadata():
    import feedback360.models  # noqa: F401  (registers every table on the metadata)
    from feedback360.extensions import db

    return db.metadata


def create_schema(url: str) -> None:
    """``create_all`` of the models' tables in the database at ``url``."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        _metadata().create_all(engine)
    finally:
        engine.dispose()


def truncate_all(url: str) -> None:
    """Empty every model table (``TRUNCATE ... RESTART IDENTITY CASCADE``) on PostgreSQL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        preparer = engine.dialect.identifier_preparer
        tables = ", ".join(preparer.format_table(t) for t in _metadata().sorted_tables)
        statement = text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE")
        try:
            with engine.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                connection.execute(statement)
        except OperationalError:
            # A connection the test leaked (an app it made itself, a thread) still holds a lock:
            # end it, so one sloppy test cannot hang or poison the rest of the session.
            with engine.begin() as connection:
                connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            with engine.begin() as connection:
                connection.execute(statement)
    finally:
        engine.dispose()


def dispose_app(app) -> None:
    """Close the app's session and every pooled connection (PostgreSQL counts them)."""
    from feedback360.extensions import db

    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def pg_cluster_module():
    """``scripts/pg_cluster.py`` as a module: ``find_bindir()`` for pg_dump, ``libpq_url``."""
    return _load_pg_cluster()


@pytest.fixture(scope="session")
def db_backend() -> str:
    """``"sqlite"`` or ``"postgresql"``: which database this run of the suite uses."""
    return _backend_from_environment()[0]


@pytest.fixture(scope="session")
def _postgres_test_database(db_backend: str) -> Iterator[str | None]:
    if db_backend != "postgresql":
        yield None
        return
    cluster_url = _backend_from_environment()[1]
    assert cluster_url
    pg_cluster = _load_pg_cluster()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    name = f"{PG_TEST_DATABASE}_{worker}" if worker else PG_TEST_DATABASE
    url = pg_cluster.create_database(cluster_url, name, replace=True)
    create_schema(url)
    yield url
    pg_cluster.drop_database(cluster_url, name)


@pytest.fixture(scope="session")
def _sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with the schema, made once per worker: each test gets a copy,
    which takes well under a millisecond where ``create_all`` takes over a tenth of a second."""
    path = tmp_path_factory.mktemp("schema") / "empty.sqlite"
    create_schema(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(db_backend: str, _postgres_test_database: str | None,
                 tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of this test's database, schema ready and empty (emptied again after the test)."""
    if db_backend == "sqlite":
        path = tmp_path / "feedback360.sqlite"
        shutil.copyfile(request.getfixturevalue("_sqlite_schema"), path)
        yield f"sqlite:///{path}"
        return
    assert _postgres_test_database
    yield _postgres_test_database
    truncate_all(_postgres_test_database)


# --------------------------------------------------------------------------------------------
# SMTP


class CapturingHandler:
    """aiosmtpd handler keeping every message it receives, parsed as an ``EmailMessage``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.received = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.received:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.received.notify_all()
        return "250 Message accepted for delivery"


class SMTPServer:
    """A real SMTP server on 127.0.0.1 in a background thread; restartable on the same port."""

    host = "127.0.0.1"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port(self.host)
        self.handler = CapturingHandler()
        self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message received since the last ``clear()``, oldest first."""
        return self.handler.messages

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        """``(MAIL FROM, [RCPT TO, ...])`` for each message in ``messages``."""
        return self.handler.envelopes

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen again (on the same port), e.g. after ``stop()`` simulated an outage."""
        if self._controller is not None:
            return
        from aiosmtpd.controller import Controller

        controller = Controller(self.handler, hostname=self.host, port=self.port,
                                server_hostname="smtp.feedback360.test", ready_timeout=10)
        for attempt in itertools.count(1):
            try:
                controller.start()
                break
            except OSError:
                # The port is still in TIME_WAIT/being released after stop(): try again shortly.
                if attempt >= 50:
                    raise
                controller.stop(no_assert=True)
                if not controller.loop.is_closed():
                    controller.loop.close()
                controller = Controller(self.handler, hostname=self.host, port=self.port,
                                        server_hostname="smtp.feedback360.test",
                                        ready_timeout=10)
                time.sleep(0.1)
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start()``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self.handler.received:
            self.messages.clear()
            self.envelopes.clear()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived (mail sent from another thread)."""
        with self.handler.received:
            if not self.handler.received.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} message(s) within {timeout}s, "
                                     f"got {len(self.messages)}")
            return list(self.messages)

    def messages_to(self, address: str) -> list[EmailMessage]:
        address = address.casefold()
        return [m for m in self.messages
                if address in (a.addr_spec.casefold() for a in m["To"].addresses)]

    @staticmethod
    def links(message: EmailMessage) -> list[str]:
        """The http(s) links in a message's plain-text body, in order."""
        return message_links(message)


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(_smtp_server: SMTPServer) -> SMTPServer:
    """The test SMTP server, running and empty. ``.messages``, ``.clear()``, ``.stop()``,
    ``.start()`` (same port), ``.links(message)``, ``.wait_for(n)``, ``.messages_to(addr)``."""
    _smtp_server.start()
    _smtp_server.clear()
    return _smtp_server


# --------------------------------------------------------------------------------------------
# App


@pytest.fixture
def app_config(database_url: str, smtp: SMTPServer) -> dict[str, Any]:
    """The configuration ``app`` is created with; override this fixture to change it."""
    return {
        "FEEDBACK360_ENV": "testing",
        "SECRET_KEY": TEST_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SERVER_BASE_URL": "http://localhost",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": smtp.host,
        "MAIL_PORT": smtp.port,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_TIMEOUT": 5,
        "MAIL_DELIVER_AFTER_REQUEST": True,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": True,
    }


def _buffered_client_class():
    from flask.testing import FlaskClient

    class BufferedClient(FlaskClient):
        """A test client that consumes and closes every response, as a real server does, so
        ``call_on_close`` work (mail delivery after the response) has run when a call returns."""

        def open(self, *args: Any, buffered: bool = True, **kwargs: Any):
            return super().open(*args, buffered=buffered, **kwargs)

    return BufferedClient


@pytest.fixture
def make_app(app_config: dict[str, Any], tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``make_app(**overrides)``: another app on this test's database (e.g. rate limits on).

    Each app's instance folder is in the test's ``tmp_path`` (``.eml`` files of the file mail
    backend land there, not in the project's ``instance/``)."""
    from feedback360 import create_app

    apps = []
    client_class = _buffered_client_class()

    def factory(**overrides: Any):
        instance = tmp_path / f"instance{len(apps) or ''}"
        app = create_app({**app_config, "INSTANCE_PATH": str(instance), **overrides})
        app.test_client_class = client_class
        apps.append(app)
        return app

    yield factory
    for app in reversed(apps):
        dispose_app(app)


@pytest.fixture
def app(make_app):
    """A fresh app for this test, its database schema ready and empty."""
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --------------------------------------------------------------------------------------------
# Data


@functools.cache
def cached_password_hash(password: str) -> str:
    """The testing profile's cheap argon2id settings, so signing in stays fast in tests."""
    from feedback360.passwords import FAST_HASHER

    return FAST_HASHER.hash(password)


@pytest.fixture(scope="session")
def password_hash() -> Callable[[str], str]:
    """``password_hash(password)``: a (cached) argon2 hash, for building users by hand."""
    return cached_password_hash


def _persist(app, obj):
    """Add and commit ``obj``; return it usable outside an app context (detached, loaded)."""
    from flask import current_app, has_app_context

    from feedback360.extensions import db

    if has_app_context() and current_app._get_current_object() is app:
        db.session.add(obj)
        db.session.commit()
        db.session.refresh(obj)
        return obj
    with app.app_context():
        db.session.add(obj)
        db.session.commit()
        db.session.refresh(obj)
        db.session.expunge(obj)
        return obj


_numbers = itertools.count(1)


@pytest.fixture
def make_user(app) -> Callable[..., Any]:
    """``make_user(email=None, role="trainee", name=None, password=DEFAULT_PASSWORD,
    active=True, **profile)``: create and commit a ``User``.

    ``password=None`` makes an invited, not yet activated account. ``profile`` takes any other
    ``User`` column (``cohort_id``, ``specialty``, ``training_year``, ``site``...) or
    ``cohort=<Cohort>``. Returned detached with its columns loaded, or attached to the session
    if the test has the app's context pushed.
    """
    from feedback360.models import User

    def factory(email: str | None = None, role: str = "trainee", name: str | None = None,
                password: str | None = DEFAULT_PASSWORD, active: bool = True,
                two_factor: bool | None = None, **profile: Any):
        number = next(_numbers)
        email = (email or f"{role}{number}@example.nhs.uk").strip().lower()
        if name is None:
            name = " ".join(part.capitalize()
                            for part in email.split("@")[0].replace("_", ".").split("."))
        cohort = profile.pop("cohort", None)
        if cohort is not None:
            profile["cohort_id"] = cohort.id
        user = User(
            email=email, name=name, role=role, active=active,
            password_hash=cached_password_hash(password) if password is not None else None,
            session_nonce=secrets.token_hex(16),
            **profile,
        )
        user = _persist(app, user)
        if two_factor if two_factor is not None else role == "admin":
            enrol_second_factor(app, user.id)
        return user

    return factory



@pytest.fixture
def make_cohort(app) -> Callable[..., Any]:
    """``make_cohort(name=None, programme="Scientist Training Programme", intake_year=2026)``."""
    from feedback360.models import Cohort

    def factory(name: str | None = None, programme: str | None = "Scientist Training Programme",
                intake_year: int | None = 2026, **fields: Any):
        name = name or f"STP {intake_year} cohort {next(_numbers)}"
        return _persist(app, Cohort(name=name, programme=programme, intake_year=intake_year,
                                    **fields))

    return factory


# --------------------------------------------------------------------------------------------
# Requests


def login_with(client, email: Any, password: str = DEFAULT_PASSWORD, *,
               follow_redirects: bool = False, second_factor: bool = True,
               next_url: str | None = None, **extra: str):
    """GET /auth/login for the CSRF token, then POST the credentials; the POST's response.

    When the password leads to the code step (an enrolled user), the code is then entered too,
    unless ``second_factor=False``: the response is then the code's. ``next_url`` is the page
    the sign-in was asked for (``?next=``)."""
    email = getattr(email, "email", email)  # a User will do
    query = {"next": next_url} if next_url is not None else None
    page = client.get("/auth/login", query_string=query)
    assert page.status_code == 200, f"GET /auth/login gave {page.status_code}"
    response = client.post("/auth/login", query_string=query, data={
        "email": email, "password": password, "csrf_token": csrf_token(page), **extra,
    }, follow_redirects=False)
    if second_factor and response.status_code == 302 \
            and response.location.endswith("/auth/two-factor"):
        code = unused_code(client.application, email)
        step = client.get("/auth/two-factor")
        return client.post("/auth/two-factor", data={"code": code, "csrf_token": csrf_token(step)},
                           follow_redirects=follow_redirects)
    if follow_redirects and response.status_code == 302:
        return client.get(response.location, follow_redirects=True)
    return response



@pytest.fixture
def login() -> Callable[..., Any]:
    """``login(client, email_or_user, password=DEFAULT_PASSWORD, *, follow_redirects=False,
    second_factor=True, next_url=None)``: an enrolled user's TOTP code is entered too."""
    return login_with
