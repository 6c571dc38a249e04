"""The README's gunicorn command, run for real: no ``Server`` header, no token in its logs.

gunicorn is started from the project root (so it loads ``gunicorn.conf.py`` by itself) on a free
127.0.0.1 port, sent real HTTP requests, and stopped; its access and error logs are then read.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers import gunicorn_server
from itsdangerous import URLSafeTimedSerializer

from feedback360 import PROJECT_ROOT, tokens

# Signed with another key: shaped exactly like a live link, refused without a database.
FOREIGN = URLSafeTimedSerializer("not this deployment's key")
LINKS = {
    "survey": "/s/" + FOREIGN.dumps({"i": 1, "n": "abc"}, salt=tokens.SURVEY_INVITATION),
    "reset": "/auth/reset-password/" + FOREIGN.dumps({"uid": 1, "fp": "f" * 16},
                                                     salt=tokens.PASSWORD_RESET),
    "activation": "/auth/activate/" + FOREIGN.dumps({"uid": 1, "fp": "f" * 16},
                                                    salt=tokens.ACCOUNT_ACTIVATION),
}


def _fetch(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own server
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, dict(error.headers)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> dict[str, object]:
    """Start gunicorn as the README says, make the requests, stop it: responses and logs."""
    instance = tmp_path_factory.mktemp("gunicorn")
    env = {"FEEDBACK360_ENV": "production", "SECRET_KEY": "k" * 64,
           "FEEDBACK360_INSTANCE": str(instance),
           "DATABASE_URL": f"sqlite:///{Path(instance) / 'feedback360.sqlite'}"}
    with gunicorn_server(env, workers=2, cwd=PROJECT_ROOT) as (base, server):
        results = {name: _fetch(base + path, Referer=base + path) for name, path in LINKS.items()}
        results["login"] = _fetch(base + "/auth/login")
    out, err = server.communicate(timeout=60)
    return {"results": results, "access": out, "error": err}


def test_no_server_header_names_the_software(served):
    for name, (status, headers) in served["results"].items():
        assert status < 500, (name, status)
        assert not any(header.lower() == "server" for header in headers), (name, headers)


def test_the_access_log_is_on_and_holds_no_token(served):
    access = served["access"]
    assert '"GET /auth/login HTTP/1.1" 200' in access
    for path in LINKS.values():
        prefix, token = path.rsplit("/", 1)
        assert f"{prefix}/[redacted]" in access  # the request line and the Referer
        assert token not in access + served["error"]
        assert token.split(".")[-1] not in access + served["error"]  # nor its signature
