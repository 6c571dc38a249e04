"""The per-account sign-in count is shared through Redis by every app instance.

Against a real ``redis-server`` (Debian package ``redis-server``) that the test starts on a
free port in a temporary folder, without persistence, and stops. Each ``create_app`` connects
the limiter to its storage afresh: with ``memory://`` the second instance starts from nothing
(the control), with ``redis://`` it sees the first instance's failures.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from helpers import DEFAULT_PASSWORD, csrf_token, free_port, gunicorn_server
from test_throttle import WRONG, attempt

from feedback360 import PROJECT_ROOT
from feedback360.account_throttle import RETRY_SECONDS
from feedback360.extensions import limiter

REDIS_SERVER = shutil.which("redis-server")


@contextlib.contextmanager
def redis_server(port: int, folder: Path) -> Iterator[subprocess.Popen[str]]:
    """A ``redis-server`` listening on ``port`` until the block ends (or the test kills it)."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian package redis-server; "
                    "`make system-deps` lists it)")
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "notice"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        # Blocks on the server's own log until it is listening: no sleeping, no polling.
        for line in server.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            raise AssertionError(f"redis-server exited with {server.wait()}")
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


@pytest.fixture
def redis_uri(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    with redis_server(port, tmp_path):
        yield f"redis://127.0.0.1:{port}/0"


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "memory (control)"])
def test_two_app_instances_share_the_per_account_count(make_app, make_user, request, shared):
    uri = request.getfixturevalue("redis_uri") if shared else "memory://"
    user = make_user("shared@nhs.net")
    settings = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": uri,
                "LOGIN_RATE_LIMIT": "1000 per minute", "LOGIN_ACCOUNT_LIMIT": "3 per 15 minutes"}

    first = make_app(**settings)
    for n in range(3):
        assert attempt(first.test_client(), user.email, address=f"203.0.113.{n}"
                       ).status_code == 400
    first_storage = limiter.storage

    second = make_app(**settings)  # another worker or server: its own connection
    assert limiter.storage is not first_storage
    answer = attempt(second.test_client(), user.email, DEFAULT_PASSWORD, address="198.51.100.9")
    assert answer.status_code == (429 if shared else 302)


def _open(opener, url: str, data: dict[str, str] | None = None, **headers: str
          ) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - ours
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def test_gunicorn_workers_share_the_per_account_count_through_redis(redis_uri, database_url,
                                                                   make_user, tmp_path):
    """The README's multi-worker gunicorn command: a lock earned in one worker holds in all."""
    user = make_user("worker.target@nhs.net")
    env = {"FEEDBACK360_ENV": "development", "SECRET_KEY": "k" * 64,
           "FEEDBACK360_INSTANCE": str(tmp_path / "served"), "DATABASE_URL": database_url,
           "MAIL_BACKEND": "file", "RATELIMIT_STORAGE_URI": redis_uri, "TRUSTED_PROXIES": "1",
           "LOGIN_RATE_LIMIT": "1000 per minute", "LOGIN_ACCOUNT_LIMIT": "3 per 15 minutes"}
    statuses = []
    with gunicorn_server(env, workers=3, cwd=PROJECT_ROOT) as (base, server):
        login = base + "/auth/login"
        for n, password in enumerate([WRONG] * 3 + [DEFAULT_PASSWORD] * 3):
            # A fresh browser from a fresh address each time; which of the three workers answers
            # is the kernel's choice (in trial runs all three did), each with its own memory.
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
            address = {"X-Forwarded-For": f"203.0.113.{n}"}
            _, page = _open(opener, login, **address)
            status, _ = _open(opener, login, {"email": user.email, "password": password,
                                             "csrf_token": csrf_token(page)}, **address)
            statuses.append(status)
    server.communicate(timeout=60)
    assert statuses == [400] * 3 + [429] * 3


def test_sign_in_survives_redis_dying_and_shares_counts_again_when_it_is_back(
        make_app, make_user, tmp_path, caplog):
    """Redis killed mid-run: no 500, the per-account limit still holds (in this process's
    memory, with a warning), and once Redis is back the counts are shared through it again."""
    user = make_user("outage@nhs.net")
    port = free_port()
    uri = f"redis://127.0.0.1:{port}/0"
    settings = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": uri,
                "LOGIN_RATE_LIMIT": "1000 per minute", "LOGIN_ACCOUNT_LIMIT": "3 per 15 minutes"}
    app = make_app(**settings)
    client = app.test_client()
    with redis_server(port, tmp_path) as server:
        assert attempt(client, user.email).status_code == 400  # counted in Redis
        server.kill()
        server.wait(timeout=10)
        statuses = [attempt(client, user.email).status_code for _ in range(3)]
        statuses.append(attempt(client, user.email, DEFAULT_PASSWORD).status_code)
    assert statuses == [400, 400, 400, 429]  # no 500; the limit held, counted in memory
    assert "unreachable" in caplog.text

    with redis_server(port, tmp_path), time_machine.travel(
            datetime.now(UTC) + timedelta(seconds=RETRY_SECONDS + 60), tick=True):
        # In-memory counts stay with this process (it still refuses) ...
        assert attempt(client, user.email, DEFAULT_PASSWORD).status_code == 429
        assert "answers again" in caplog.text
        other = make_user("after.outage@nhs.net")
        for _ in range(3):
            assert attempt(client, other.email).status_code == 400
        # ... and new failures are in Redis again: another instance sees them.
        second = make_app(**settings)
        assert attempt(second.test_client(), other.email, DEFAULT_PASSWORD).status_code == 429
