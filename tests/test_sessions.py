"""Sessions that end (issue 10, point 2): on the server, for every copy of the cookie.

A "copied cookie" is the session cookie of one test client set on another, as an attacker who
read it off a shared computer or a proxy log would replay it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from helpers import csrf_token, post_form

from feedback360 import tokens
from feedback360.config import ConfigurationError, load
from feedback360.extensions import db
from feedback360.models import AuditEvent, User

NEW_PASSWORD = "plum kettle orbit lantern"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def signed_in(client) -> bool:
    """The start page sends a signed-in person of any role home, anyone else to sign in."""
    response = client.get("/")
    assert response.status_code == 302
    return not response.location.startswith("/auth/login")


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def log_out(client):
    token = csrf_token(client.get("/", follow_redirects=True))
    return client.post("/auth/logout", data={"csrf_token": token})


def change_password(client):
    return post_form(client, "/account/password", {
        "current_password": "correct horse battery", "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD})


def reset_password(app, user):
    with app.app_context():
        stored = db.session.get(User, user.id)
        token = tokens.issue(tokens.PASSWORD_RESET, {
            "uid": stored.id, "fp": tokens.password_fingerprint(stored.password_hash)})
    return post_form(app.test_client(), f"/auth/reset-password/{token}",
                     {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})


def deactivate(app, user):
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()


ENDINGS = {
    "logout": lambda app, client, user: log_out(client),
    "password change": lambda app, client, user: change_password(client),
    "password reset": lambda app, client, user: reset_password(app, user),
    "deactivation": lambda app, client, user: deactivate(app, user),
}


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("role", ["trainee", "coach", "admin"])
def test_a_copied_cookie_dies_with_the_session(app, client, make_user, login, ending, role):
    user = make_user(role=role)
    other_browser = app.test_client()
    assert login(client, user).status_code == 302
    assert login(other_browser, user).status_code == 302
    thief = copy_of(app, client)
    assert signed_in(thief)  # the copy works, as the real cookie does, until...

    response = ENDINGS[ending](app, client, user)
    assert response is None or response.status_code == 302

    assert not signed_in(thief)
    assert not signed_in(other_browser)  # every session of the user ends, not just this one
    # Only the browser that changed its own password stays signed in, on a fresh session.
    assert signed_in(client) is (ending == "password change")


def test_logout_is_audited(app, client, make_user, login):
    user = make_user()
    login(client, user)
    log_out(client)
    with app.app_context():
        assert db.session.scalar(db.select(AuditEvent.action).where(
            AuditEvent.actor_id == user.id).order_by(AuditEvent.id.desc())) == "logout"


# --- Idle timeout and absolute lifetime -------------------------------------------------------

def expired_to_login(response, minutes: int, why: str, client, next_path: str | None):
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert location.path == "/auth/login"
    assert parse_qs(location.query).get("next") == ([next_path] if next_path else None)
    page = client.get("/auth/login")
    assert f"You have been signed out after {minutes} minutes{why}" in page.text


def test_idle_sessions_end_after_the_idle_timeout(app, client, make_user, login):
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        login(client, user)
        stolen_at_sign_in = copy_of(app, client)
        for _ in range(3):  # used every 29 minutes, a session lives past the idle timeout
            clock.shift(timedelta(minutes=29))
            assert client.get("/cycles/").status_code == 200
        # The copy was last used at sign-in: whatever the browser keeps, the server refuses it.
        expired_to_login(stolen_at_sign_in.get("/cycles/?page=2"), 30, " without activity",
                         stolen_at_sign_in, "/cycles/?page=2")
        assert not signed_in(stolen_at_sign_in)
        clock.shift(timedelta(minutes=30))
        expired_to_login(client.get("/cycles/"), 30, " without activity", client, "/cycles/")
        assert not signed_in(client)


def test_sessions_end_after_the_absolute_lifetime_however_busy(make_app, make_user, login):
    app = make_app(SESSION_IDLE_MINUTES=10, SESSION_MAX_MINUTES=60)
    client = app.test_client()
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        login(client, user)
        for _ in range(6):
            clock.shift(timedelta(minutes=9, seconds=50))
            assert client.get("/cycles/").status_code == 200
        fresh_copy = copy_of(app, client)  # just used, so not idle; but signed in an hour ago
        clock.shift(timedelta(minutes=1))
        expired_to_login(fresh_copy.get("/cycles/"), 60, ". Sign in again", fresh_copy,
                         "/cycles/")
        expired_to_login(client.get("/cycles/"), 60, ". Sign in again", client, "/cycles/")
        # Signing in again starts a new lifetime.
        assert login(client, user).status_code == 302 and signed_in(client)


@pytest.mark.parametrize(("method", "path", "next_path"), [
    ("GET", "/cycles/?page=2", "/cycles/?page=2"),
    ("GET", "/\\evil.example", None),
    ("POST", "/account/password", None),
])
def test_next_is_kept_only_for_a_safe_local_page(app, client, make_user, login, method, path,
                                                 next_path):
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        login(client, user)
        token = csrf_token(client.get("/account/password"))
        clock.shift(timedelta(minutes=31))
        response = client.open(path, method=method, data={"csrf_token": token})
        expired_to_login(response, 30, " without activity", client, next_path)


def test_a_session_without_sign_in_times_is_refused(app, client, make_user, login):
    # e.g. one signed before this check existed
    login(client, make_user())
    with client.session_transaction() as session:
        del session["_signed_in_at"]
    assert not signed_in(client)


# --- The cookie -------------------------------------------------------------------------------

def test_production_cookie_is_host_prefixed(make_app, make_user):
    app = make_app(FEEDBACK360_ENV="production", PASSWORD_HASH_FAST=True)
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-feedback360_session"
    user = make_user()
    client = app.test_client()
    https = {"base_url": "https://localhost",
             "headers": {"Referer": "https://localhost/auth/login"}}
    page = client.get("/auth/login", **https)
    response = client.post("/auth/login", data={
        "email": user.email, "password": "correct horse battery",
        "csrf_token": csrf_token(page)}, **https)
    assert response.status_code == 302
    [cookie] = [value for value in response.headers.getlist("Set-Cookie")
                if value.startswith("__Host-feedback360_session=")]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "secure" in attributes and "path=/" in attributes
    assert not any(part.startswith("domain=") for part in attributes)
    assert client.get("/account/password", **https).status_code == 200


@pytest.mark.parametrize("profile", ["development", "testing"])
def test_development_and_tests_keep_a_plain_cookie_over_http(make_app, make_user, login,
                                                            profile):
    app = make_app(FEEDBACK360_ENV=profile)
    assert app.config["SESSION_COOKIE_NAME"] == "feedback360_session"
    assert not app.config["SESSION_COOKIE_SECURE"]
    client = app.test_client()  # http://localhost
    assert login(client, make_user()).status_code == 302 and signed_in(client)


def test_session_settings_default_and_come_from_the_environment(tmp_path, monkeypatch):
    for name in ("SESSION_IDLE_MINUTES", "SESSION_MAX_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    settings = load(str(tmp_path), {"FEEDBACK360_ENV": "testing"})
    assert (settings["SESSION_IDLE_MINUTES"], settings["SESSION_MAX_MINUTES"]) == (30, 720)
    assert settings["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=720)
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("SESSION_MAX_MINUTES", "480")
    settings = load(str(tmp_path), {"FEEDBACK360_ENV": "testing"})
    assert (settings["SESSION_IDLE_MINUTES"], settings["SESSION_MAX_MINUTES"]) == (15, 480)


@pytest.mark.parametrize(("overrides", "complaint"), [
    ({"SESSION_IDLE_MINUTES": 0}, "SESSION_IDLE_MINUTES must be a whole number"),
    ({"SESSION_IDLE_MINUTES": "half an hour"}, "SESSION_IDLE_MINUTES must be a whole number"),
    ({"SESSION_MAX_MINUTES": -5}, "SESSION_MAX_MINUTES must be a whole number"),
    ({"SESSION_MAX_MINUTES": 99_999}, "SESSION_MAX_MINUTES must be a whole number"),
    ({"SESSION_IDLE_MINUTES": 60, "SESSION_MAX_MINUTES": 30}, "must not be longer than"),
    ({"SESSION_COOKIE_NAME": "__Host-x", "SESSION_COOKIE_SECURE": False}, "must be Secure"),
    ({"SESSION_COOKIE_NAME": "__Host-x", "SESSION_COOKIE_SECURE": True,
      "SESSION_COOKIE_DOMAIN": "nhs.uk"}, "no Domain"),
])
def test_bad_session_settings_stop_the_app_with_a_clear_message(tmp_path, overrides,
                                                                complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        load(str(tmp_path), {"FEEDBACK360_ENV": "testing", **overrides})


# --- Changing one's password ------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "message"), [
    ({"current_password": "not my password"}, "Enter your current password correctly"),
    ({"current_password": ""}, "Enter your current password"),
    ({"password": "short", "confirm": "short"}, "at least 10 characters"),
    ({"password": "password123", "confirm": "password123"}, "too common"),
    ({"confirm": "something else entirely"}, "The passwords do not match"),
    ({"password": "correct horse battery", "confirm": "correct horse battery"},
     "different from your current one"),
])
def test_change_password_form_errors(app, client, make_user, login, fields, message):
    user = make_user()
    login(client, user)
    response = post_form(client, "/account/password", {
        "current_password": "correct horse battery", "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD, **fields})
    assert response.status_code == 400
    assert "There is a problem" in response.text and message in response.text
    with app.app_context():
        assert not db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.action == "user.password_changed")).all()
    log_out(client)
    assert login(client, user).status_code == 302  # the old password still works


@pytest.mark.parametrize("role", ["trainee", "coach", "admin"])
def test_every_role_can_change_their_password_from_the_header(app, client, make_user, login,
                                                              role):
    user = make_user(role=role)
    home = login(client, user, follow_redirects=True)
    assert 'href="/account/password"' in home.text
    response = change_password(client)
    assert response.status_code == 302
    assert "signed out everywhere else" in client.get(response.location,
                                                      follow_redirects=True).text
    with app.app_context():
        assert db.session.scalar(db.select(AuditEvent.actor_id).where(
            AuditEvent.action == "user.password_changed")) == user.id
    log_out(client)
    assert login(client, user).status_code == 400
    assert login(client, user, NEW_PASSWORD).status_code == 302


def test_visitors_are_sent_to_sign_in(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and response.location.startswith("/auth/login")
