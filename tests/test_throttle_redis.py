"""The per-account sign-in count is shared through Redis by every app instance.

Against a real ``redis-server`` (Debian package ``redis-server``) that the test starts on a
free port in a temporary folder, without persistence, and stops. Each ``create_app`` connects
the limiter to its storage afresh: with ``memory://`` the second instance starts from nothing
(the control), with ``redis://`` it sees the first instance's failures.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEFAULT_PASSWORD
from helpers import free_port
from test_throttle import attempt

from feedback360.extensions import limiter

REDIS_SERVER = shutil.which("redis-server")


@pytest.fixture
def redis_uri(tmp_path: Path) -> Iterator[str]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian package redis-server; "
                    "`make system-deps` lists it)")
    port = free_port()
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
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
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


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
