"""Account journeys, following the links in mail captured by a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import time_machine
from helpers import csrf_token

from feedback360.extensions import db
from feedback360.models import AuditEvent, User
from feedback360.services.account_admin import RESEND_INTERVAL

NEW_PASSWORD = "plum kettle orbit lantern"


def link_path(smtp, message) -> str:
    [link] = smtp.links(message)
    return urlsplit(link).path


def post_form(client, path: str, data: dict, **kwargs):
    """GET the form for its CSRF token, then POST it like a browser would."""
    page = client.get(path)
    return client.post(path, data={**data, "csrf_token": csrf_token(page.text)}, **kwargs)


def invite(client, smtp, email: str = "New.Trainee@NHS.net", role: str = "trainee"):
    response = post_form(client, "/admin/users/invite",
                         {"name": "Nia Trainee", "email": email, "role": role, "cohort_id": "0"})
    assert response.status_code == 302, response.text
    [message] = smtp.messages
    smtp.clear()
    return message


@pytest.fixture
def admin(make_user):
    return make_user("lead@nhs.net", role="admin", name="Lena Lead")


def test_invite_activate_sign_in_and_out(client, smtp, admin, login):
    login(client, admin.email)
    message = invite(client, smtp)

    assert message["To"] == "new.trainee@nhs.net"
    assert "Activate your feedback360 account" in message["Subject"]
    assert message.get_body(("html",)) is not None
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/admin/users").text)})

    path = link_path(smtp, message)
    page = client.get(path)
    assert page.status_code == 200
    assert "Activate your account" in page.text
    weak = client.post(path, data={"password": "password1234", "confirm": "password1234",
                                   "csrf_token": csrf_token(page.text)})
    assert weak.status_code == 400
    assert "too common" in weak.text

    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                   "csrf_token": csrf_token(weak.text)})
    assert done.status_code == 302
    home = client.get("/", follow_redirects=True)
    assert home.request.path == "/cycles/"
    assert "Nia Trainee" in home.text

    client.post("/auth/logout", data={"csrf_token": csrf_token(home.text)})
    assert client.get("/cycles/").status_code == 302
    reused = client.get(path)
    assert reused.status_code == 410
    assert "already been used" in reused.text

    assert login(client, "NEW.trainee@nhs.net", NEW_PASSWORD).status_code == 302


def test_invite_refuses_duplicate_and_bad_email(client, smtp, admin, login):
    login(client, admin.email)
    invite(client, smtp, "someone@nhs.net")
    duplicate = post_form(client, "/admin/users/invite",
                          {"name": "Someone", "email": "SOMEONE@nhs.net", "role": "coach",
                           "cohort_id": "0"})
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.text
    bad = post_form(client, "/admin/users/invite",
                    {"name": "Someone", "email": "not-an-email", "role": "coach",
                     "cohort_id": "0"})
    assert bad.status_code == 400
    assert "correct format" in bad.text
    assert smtp.messages == []


def test_admin_can_resend_an_invitation_but_not_to_an_active_account(app, client, smtp, admin,
                                                                   login):
    login(client, admin.email)
    invite(client, smtp, "pending@nhs.net")
    with app.app_context():
        pending_id = db.session.scalar(
            db.select(User.id).where(User.email == "pending@nhs.net"))
    token = csrf_token(client.get("/admin/users").text)
    # an invitation just sent is not sent again at once (tests/test_user_admin.py)
    with time_machine.travel(datetime.now(UTC) + RESEND_INTERVAL, tick=False):
        assert client.post(f"/admin/users/{pending_id}/resend-activation",
                           data={"csrf_token": token}).status_code == 302
        assert len(smtp.messages) == 1
        conflict = client.post(f"/admin/users/{admin.id}/resend-activation",
                               data={"csrf_token": token})
    assert conflict.status_code == 409


def test_wrong_password_is_refused_and_audited(app, client, make_user, login):
    user = make_user("t@nhs.net")
    response = login(client, user.email, "not the password at all")
    assert response.status_code == 400
    assert "Enter a correct email address and password" in response.text
    assert client.get("/cycles/").status_code == 302
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "login.failed" in actions


def test_deactivated_and_unactivated_accounts_cannot_sign_in(client, make_user, login):
    make_user("gone@nhs.net", active=False)
    make_user("new@nhs.net", password=None)
    assert login(client, "gone@nhs.net").status_code == 400
    assert login(client, "new@nhs.net", "anything at all").status_code == 400


def test_sign_in_starts_a_fresh_session(client, make_user, login):
    user = make_user("t@nhs.net")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    login(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(f"{user.id}:")


@pytest.mark.parametrize(("next_url", "lands_on"), [
    ("/admin/users", "/admin/users"),
    ("https://evil.example/phish", "/"),
    ("//evil.example/phish", "/"),
    ("/\\evil.example", "/"),
])
def test_next_redirect_only_goes_to_this_site(client, admin, login, next_url, lands_on):
    # The admin passes the code step on the way: the page asked for survives it.
    response = login(client, admin, next_url=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on


def test_password_reset_journey(app, client, smtp, make_user, login):
    user = make_user("reset@nhs.net", name="Rita Reset")
    other_device = app.test_client()
    login(other_device, user.email)

    unknown = post_form(client, "/auth/forgot-password", {"email": "nobody@nhs.net"})
    known = post_form(client, "/auth/forgot-password", {"email": "RESET@nhs.net"})
    assert unknown.status_code == known.status_code == 200
    assert "Check your email" in unknown.text and "Check your email" in known.text
    [message] = smtp.messages
    assert message["To"] == "reset@nhs.net"

    path = link_path(smtp, message)
    mismatch = post_form(client, path, {"password": NEW_PASSWORD, "confirm": "different words"})
    assert mismatch.status_code == 400
    assert "do not match" in mismatch.text
    assert post_form(client, path, {"password": NEW_PASSWORD,
                                    "confirm": NEW_PASSWORD}).status_code == 302

    assert client.get(path).status_code == 410  # used once
    assert login(client, user.email).status_code == 400  # old password
    assert login(client, user.email, NEW_PASSWORD).status_code == 302
    # Changing the password ended the session on the other device.
    assert other_device.get("/cycles/").status_code == 302


def test_reset_link_expires(app, client, smtp, make_user):
    make_user("late@nhs.net")
    post_form(client, "/auth/forgot-password", {"email": "late@nhs.net"})
    path = link_path(smtp, smtp.messages[0])
    app.config["RESET_TOKEN_MAX_AGE"] = -1
    expired = client.get(path)
    assert expired.status_code == 410
    assert "expired" in expired.text


def test_tokens_are_bound_to_their_purpose(client, smtp, admin, login):
    login(client, admin.email)
    message = invite(client, smtp)
    token = link_path(smtp, message).rsplit("/", 1)[-1]
    assert client.get(f"/auth/reset-password/{token}").status_code == 410
    assert client.get(f"/auth/activate/{token[:-3]}abc").status_code == 410


def test_forms_without_a_csrf_token_are_refused(client, make_user):
    user = make_user("t@nhs.net")
    response = client.post("/auth/login", data={"email": user.email,
                                                "password": "correct horse battery"})
    assert response.status_code == 400
    assert "There is a problem with your request" in response.text
    assert client.get("/cycles/").status_code == 302
