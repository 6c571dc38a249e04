"""Every link with a token is redacted from access and error logs (``log_redaction.py``)."""

from __future__ import annotations

import logging

import pytest

from feedback360 import tokens
from feedback360.log_redaction import install_token_log_filter, redact, route_pattern

PURPOSES = {
    "survey": ("/s/", tokens.SURVEY_INVITATION, {"i": 5, "n": "abc"}),
    "activation": ("/auth/activate/", tokens.ACCOUNT_ACTIVATION, {"uid": 7, "fp": "x" * 16}),
    "reset": ("/auth/reset-password/", tokens.PASSWORD_RESET, {"uid": 7, "fp": "y" * 16}),
    "observer": ("/o/", tokens.WRITTEN_FEEDBACK, {"f": 3, "n": "def"}),
}


@pytest.fixture(params=list(PURPOSES))
def link(request, app) -> tuple[str, str]:
    """``(path, token)``: a real signed link of each kind."""
    prefix, salt, payload = PURPOSES[request.param]
    with app.app_context():
        token = tokens.issue(salt, payload)
    return prefix + token, token


def _werkzeug(path: str) -> None:
    logging.getLogger("werkzeug").info('%s - - [%s] "%s" %s %s', "127.0.0.1", "today",
                                       f"GET {path} HTTP/1.1", "302", "-")


def _gunicorn(path: str) -> None:
    # gunicorn's access log passes its atoms as one mapping: the request line, the path, the
    # query string and the Referer each hold the link.
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(U)s %(q)s %(s)s "%(f)s"',
        {"h": "10.0.0.1", "r": f"GET {path}?x=1 HTTP/1.1", "U": path, "q": "x=1", "s": "200",
         "f": f"https://feedback.example.nhs.uk{path}"})


def _login_redirect(path: str) -> None:
    encoded = path.replace("/", "%2F")
    logging.getLogger("werkzeug").info("GET /auth/login?next=%s HTTP/1.1 200", encoded)


def _exception(path: str) -> None:
    try:
        raise RuntimeError(f"could not handle https://feedback.example.nhs.uk{path}")
    except RuntimeError:
        logging.getLogger("feedback360.services.anything").exception("Request failed")


@pytest.mark.parametrize("write", [_werkzeug, _gunicorn, _login_redirect, _exception])
def test_no_token_reaches_a_log(app, caplog, link, write):
    path, token = link
    caplog.set_level(logging.INFO)
    write(path)
    assert caplog.records
    assert token not in caplog.text
    assert token[:12] not in caplog.text
    assert "[redacted]" in caplog.text


def test_an_unhandled_error_on_a_token_page_logs_no_token(app, client, caplog, monkeypatch):
    from flask import request

    from feedback360.services import accounts

    def broken(token: str):
        raise RuntimeError(f"lost while reading {request.url}")

    monkeypatch.setattr(accounts, "user_for_reset", broken)
    with app.app_context():
        token = tokens.issue(tokens.PASSWORD_RESET, {"uid": 1, "fp": "z" * 16})
    assert client.get(f"/auth/reset-password/{token}").status_code == 500
    assert "lost while reading http://localhost/auth/reset-password/[redacted]" in caplog.text
    assert token not in caplog.text


@pytest.mark.parametrize("text", [
    "GET /survey/page/2 HTTP/1.1 200",
    "sqlalchemy.exc.PendingRollbackError: Can't reconnect until invalid transaction is rolled back",
    "Mail to a@nhs.net written to /srv/feedback360.example.nhs.uk/instance/outbox/1.eml",
    "GET /cycles/12/report?page=3 HTTP/1.1 200",
])
def test_text_without_a_token_is_left_alone(app, text):
    assert redact(text) == text


@pytest.mark.parametrize(("path", "expected"), [
    ("/s/eyJpIjo1fQ.aBc-D_e?x=1", "/s/[redacted]?x=1"),  # truncated: not token-shaped, still gone
    ("/auth/activate/whatever HTTP/1.1", "/auth/activate/[redacted] HTTP/1.1"),
])
def test_anything_on_a_token_route_is_redacted(app, path, expected):
    assert redact(path) == expected


def test_token_routes_come_from_the_url_map(app):
    install_token_log_filter(app)  # every create_app calls it: idempotent
    assert set(app.extensions["token_log_redaction"]) >= {
        "/s/<token>", "/auth/activate/<token>", "/auth/reset-password/<token>", "/o/<token>"}
    later = route_pattern("/reports/<int:cycle_id>/<token>/pdf")
    assert later is not None
    assert later.search("/reports/4/abc.def/pdf").group("token") == "abc.def"
    assert route_pattern("/cycles/<int:cycle_id>") is None
