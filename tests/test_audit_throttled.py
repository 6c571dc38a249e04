"""Throttled sign-ins, resets, activations and password changes are audit events (issue 10,
point 5): with the address and browser, the email typed, never the password or a link's token."""

from __future__ import annotations

import json

import pytest
from helpers import csrf_token, path_of

from feedback360.extensions import db
from feedback360.models import AuditEvent, User
from feedback360.services import accounts

SECRET = "Sesame-guess-0451"  # a wrong password: must never reach the trail
BROWSER = "Mozilla/5.0 (X11; Linux) Firefox/140"
ADDRESS = "198.51.100.23"


def _post(client, path: str, data: dict[str, str]):
    token = csrf_token(client.get(path))
    return client.post(path, data={**data, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ADDRESS},
                       headers={"User-Agent": BROWSER})


def _only_event(app, action: str) -> AuditEvent:
    with app.app_context():
        [event] = db.session.scalars(db.select(AuditEvent).filter_by(action=action))
        db.session.expunge(event)
        return event


def _activation_path(app, make_user) -> str:
    user = make_user("new.starter@nhs.net", password=None)
    with app.test_request_context():
        return path_of(accounts.activation_link(db.session.get(User, user.id)))


LOOSE = {"LOGIN_RATE_LIMIT": "1000 per minute", "RESET_RATE_LIMIT": "1000 per minute",
         "LOGIN_ACCOUNT_LIMIT": "1000 per minute", "RESET_ACCOUNT_LIMIT": "1000 per minute"}


@pytest.mark.parametrize(("limits", "path", "data", "action", "scope"), [
    ({"LOGIN_RATE_LIMIT": "1 per minute"}, "/auth/login",
     {"email": "Target@NHS.net", "password": SECRET}, "login.throttled", "address"),
    ({"LOGIN_ACCOUNT_LIMIT": "1 per 15 minutes"}, "/auth/login",
     {"email": "Target@NHS.net", "password": SECRET}, "login.throttled", "account"),
    ({"RESET_RATE_LIMIT": "1 per minute"}, "/auth/forgot-password",
     {"email": "target@nhs.net"}, "password_reset.throttled", "address"),
    ({"RESET_ACCOUNT_LIMIT": "1 per hour"}, "/auth/forgot-password",
     {"email": "target@nhs.net"}, "password_reset.throttled", "account"),
    ({"RESET_RATE_LIMIT": "1 per minute"}, "activation",
     {"password": SECRET[:6], "confirm": SECRET[:6]}, "activation.throttled", "address"),
], ids=["login-address", "login-account", "reset-address", "reset-account", "activation"])
def test_a_throttled_attempt_is_recorded_without_secrets(make_app, make_user, limits, path,
                                                         data, action, scope):
    app = make_app(RATELIMIT_ENABLED=True, **{**LOOSE, **limits})
    path = _activation_path(app, make_user) if path == "activation" else path
    client = app.test_client()
    assert _post(client, path, data).status_code != 429
    assert [_post(client, path, data).status_code for _ in range(3)] == [429] * 3

    event = _only_event(app, action)  # one a minute per address: a flood is not a flood of rows
    assert (event.client_address, event.user_agent) == (ADDRESS, BROWSER)
    assert event.detail["scope"] == scope
    assert event.detail.get("email") == (data["email"].lower() if "email" in data else None)
    assert ("until" if scope == "account" else "limit") in event.detail
    stored = json.dumps([event.target, event.detail])
    assert SECRET[:6] not in stored
    if "/activate/" in path:
        assert path.rsplit("/", 1)[-1] not in stored  # the link's token


def test_a_throttled_password_change_names_the_signed_in_user(make_app, make_user, login):
    app = make_app(RATELIMIT_ENABLED=True, **{**LOOSE, "LOGIN_ACCOUNT_LIMIT": "1 per hour"})
    user = make_user("changer@nhs.net")
    client = app.test_client()
    login(client, user)
    data = {"current_password": SECRET, "password": "a brand new passphrase",
            "confirm": "a brand new passphrase"}
    assert _post(client, "/account/password", data).status_code == 400
    assert _post(client, "/account/password", data).status_code == 429
    event = _only_event(app, "password_change.throttled")
    assert (event.actor_id, event.target, event.detail["scope"]) == (
        user.id, "account.change_password", "account")
    assert "passphrase" not in json.dumps(event.detail)
    assert SECRET not in json.dumps(event.detail)
