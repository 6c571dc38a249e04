"""The second factor for staff: TOTP enrolment, the code step of signing in, recovery codes,
required roles, and an admin's reset. Attack tests pass only when the attack fails: a database
copy gives no working codes, a used code is refused, and a password alone reaches no page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from helpers import (
    DEFAULT_PASSWORD,
    PUBLIC_PREFIXES,
    TOTP_SECRET,
    csrf_token,
    enrol_second_factor,
    post_form,
    text_of,
    totp_code,
)

from feedback360 import two_factor_keys
from feedback360.config import ConfigurationError
from feedback360.extensions import db
from feedback360.models import AuditEvent, RecoveryCode, TwoFactorKey, User

# 10 seconds into a 30-second step, so a step either side is unambiguous.
STEP_START = datetime(2026, 12, 1, 9, 0, 10, tzinfo=UTC)


def actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)))


def key_row(app, user_id: int) -> TwoFactorKey | None:
    with app.app_context():
        row = db.session.get(TwoFactorKey, user_id)
        if row is not None:
            db.session.expunge(row)
        return row


def enter_code(client, code: str):
    page = client.get("/auth/two-factor")
    if page.status_code != 200:  # the step is over: a token from anywhere will do
        page = client.get("/auth/login")
    return client.post("/auth/two-factor", data={"code": code, "csrf_token": csrf_token(page)})


def sign_out(client) -> None:
    token = csrf_token(client.get("/account/two-factor"))
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302


def enrol(client, *, code_for=None):
    """Set up an app through the pages; the key shown and the recovery codes."""
    page = client.get("/auth/two-factor/setup")
    assert page.status_code == 200, page.status_code
    key = re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page.text).group(1)
    secret = key.replace(" ", "")
    response = post_form(client, "/auth/two-factor/setup",
                         {"code": (code_for or totp_code)(secret)})
    assert response.status_code == 200, response.status_code
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.text)
    return secret, codes


# --- enrolment ------------------------------------------------------------------------------


def test_a_trainee_sets_up_an_app_and_then_signs_in_with_a_code(app, client, make_user, login):
    user = make_user("tara@nhs.net")
    assert login(client, user).location == "/"  # not required for trainees: password alone
    manage = client.get("/account/two-factor")
    assert "Two-step verification is off" in text_of(manage)

    page = client.get("/auth/two-factor/setup")
    # The QR code is drawn here as inline SVG with a text alternative; nothing is fetched.
    svg = re.search(r"<svg[^>]*>", page.text).group(0)
    assert 'role="img"' in svg and "aria-label=" in svg
    assert "<title>QR code to add feedback360 to an authenticator app</title>" in page.text
    assert "<img" not in page.text.split("<main", 1)[1]
    grouped = re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page.text).group(1)
    assert all(len(group) == 4 for group in grouped.split())  # grouped for typing by hand
    # Reloading shows the same key until it is confirmed.
    assert grouped in client.get("/auth/two-factor/setup").text

    wrong = post_form(client, "/auth/two-factor/setup", {"code": "000000"})
    assert wrong.status_code == 400 and "The code is not right" in text_of(wrong)
    assert key_row(app, user.id).confirmed_at is None

    secret = grouped.replace(" ", "")
    done = post_form(client, "/auth/two-factor/setup", {"code": totp_code(secret)})
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.text)
    assert len(codes) == 10 == len(set(codes))
    assert "This is the only time they are shown" in text_of(done)
    assert [e.target for e in actions(app, "two_factor.enrolled")] == [f"user:{user.id}"]
    with app.app_context():  # stored hashed, never as typed
        hashes = set(db.session.scalars(db.select(RecoveryCode.code_hash)))
    assert len(hashes) == 10 and not any(code.replace("-", "") in h for code in codes
                                         for h in hashes)

    sign_out(client)
    step = login(client, user, second_factor=False)
    assert step.location == "/auth/two-factor"
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=30), tick=False):
        assert enter_code(client, totp_code(secret)).location == "/"
        assert client.get("/").location == "/cycles/"


def test_a_database_copy_alone_gives_no_working_codes(app, make_user, make_app):
    user = make_user("lead@nhs.net", role="admin")  # enrolled with TOTP_SECRET
    row = key_row(app, user.id)
    assert TOTP_SECRET.encode() not in row.sealed_secret
    assert pyotp.TOTP(TOTP_SECRET).now().encode() not in row.sealed_secret
    # Whoever has the rows but not SECRET_KEY cannot open them; a key moved to another account
    # does not open either.
    other = make_app(SECRET_KEY="someone else's key")
    with other.app_context(), pytest.raises(two_factor_keys.KeyUnreadable):
        two_factor_keys.unseal(row.sealed_secret, user.id)
    with app.app_context(), pytest.raises(two_factor_keys.KeyUnreadable):
        two_factor_keys.unseal(row.sealed_secret, user.id + 1)
    # Rotating the key keeps enrolments while the old key is a fallback.
    rotated = make_app(SECRET_KEY="a new key", SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]])
    with rotated.app_context():
        assert two_factor_keys.unseal(row.sealed_secret, user.id) == TOTP_SECRET


# --- the code step --------------------------------------------------------------------------


def pages_for_signed_in_people(app):
    """Every GET route but the public ones, filled with id 1 where it takes one."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(PUBLIC_PREFIXES):
            continue
        yield rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]


@pytest.mark.parametrize("role", ["trainee", "coach", "admin"])
def test_a_password_alone_reaches_no_page(app, client, make_user, login, role):
    user = make_user(f"{role}@nhs.net", role=role, two_factor=True)
    assert login(client, user, second_factor=False).location == "/auth/two-factor"
    checked = 0
    for path in pages_for_signed_in_people(app):
        response = client.get(path)
        assert response.status_code in (302, 404), path
        if response.status_code == 302:
            assert "/auth/login" in response.location, f"{path}: {response.location}"
            checked += 1
    assert checked > 20
    assert actions(app, "login") == []  # a password alone is no sign-in
    # Still waiting for the code, and it still works afterwards.
    assert login(client, user).location == "/"
    [event] = actions(app, "login")
    assert event.detail == {"second_factor": "totp"}


def test_codes_are_accepted_one_step_either_side_and_never_twice(app, client, make_user, login):
    user = make_user("lead@nhs.net", role="admin")
    totp = pyotp.TOTP(TOTP_SECRET)
    with time_machine.travel(STEP_START, tick=False) as clock:
        login(client, user, second_factor=False)
        for stale in (STEP_START - timedelta(seconds=60), STEP_START + timedelta(seconds=60)):
            assert enter_code(client, totp.at(stale)).status_code == 400
        assert enter_code(client, "\u0661\u0662\u0663\u0664\u0665\u0666").status_code == 400
        assert enter_code(client, totp.at(STEP_START - timedelta(seconds=30))).status_code == 302
        sign_out(client)

        login(client, user, second_factor=False)
        # The code just used (seen over a shoulder) is refused, and so is an older one.
        assert enter_code(client, totp.at(STEP_START - timedelta(seconds=30))).status_code == 400
        assert enter_code(client, totp.at(STEP_START + timedelta(seconds=30))).status_code == 302
        sign_out(client)
        login(client, user, second_factor=False)
        assert enter_code(client, totp.now()).status_code == 400  # older than the last used
        clock.shift(timedelta(seconds=60))
        assert enter_code(client, totp.now()).status_code == 302
    assert len(actions(app, "two_factor.failed")) == 5


def test_failed_codes_count_in_the_accounts_sign_in_limit(make_app, make_user, login):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="1000 per minute",
                   LOGIN_ACCOUNT_LIMIT="3 per 15 minutes")
    client = app.test_client()
    user = make_user("lead@nhs.net", role="admin")
    login(client, user, second_factor=False)
    assert [enter_code(client, "123456").status_code for _ in range(3)] == [400, 400, 400]
    refused = enter_code(client, totp_code())
    assert refused.status_code == 429 and "Too many failed sign-ins" in text_of(refused)
    assert "Retry-After" in refused.headers
    # The password step is locked for that account too.
    again = login(client, user, second_factor=False)
    assert again.status_code == 429


def test_the_code_step_expires_and_dies_with_the_users_sessions(app, client, make_user, login):
    user = make_user("lead@nhs.net", role="admin")
    with time_machine.travel(STEP_START, tick=False) as clock:
        login(client, user, second_factor=False)
        clock.shift(timedelta(minutes=5))
        late = enter_code(client, totp_code())
        assert late.status_code == 302 and late.location.startswith("/auth/login")
    login(client, user, second_factor=False)
    with app.app_context():  # a password reset meanwhile rotates the nonce
        db.session.get(User, user.id).session_nonce = "0" * 32
        db.session.commit()
    assert enter_code(client, totp_code()).location.startswith("/auth/login")


# --- recovery codes -------------------------------------------------------------------------


def test_recovery_codes_work_once_each_and_can_be_replaced(app, client, make_user, login):
    user = make_user("coach@nhs.net", role="coach")
    login(client, user)
    _, codes = enrol(client)
    sign_out(client)

    login(client, user, second_factor=False)
    used = enter_code(client, codes[0].upper().replace("-", " "))  # typed loosely
    assert used.status_code == 302
    assert "9 left" in text_of(client.get(used.location, follow_redirects=True))
    assert actions(app, "two_factor.recovery_code_used")[0].detail == {"left": 9}
    sign_out(client)
    login(client, user, second_factor=False)
    assert enter_code(client, codes[0]).status_code == 400
    assert enter_code(client, codes[1]).status_code == 302

    manage = client.get("/account/two-factor")
    assert "8 unused recovery codes" in text_of(manage)
    wrong = post_form(client, "/account/two-factor", {"password": "not my password"})
    assert wrong.status_code == 400 and "Your password is not right" in text_of(wrong)
    fresh = post_form(client, "/account/two-factor", {"password": DEFAULT_PASSWORD})
    new_codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", fresh.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert len(actions(app, "two_factor.recovery_codes_regenerated")) == 1
    sign_out(client)
    login(client, user, second_factor=False)
    assert enter_code(client, codes[2]).status_code == 400  # replaced
    assert enter_code(client, new_codes[0]).status_code == 302

    # A coach's role does not need it (by default): they may turn it off, password given.
    off = post_form(client, "/account/two-factor", {"password": DEFAULT_PASSWORD,
                                                    "turn_off": "y"})
    assert off.location == "/account/two-factor" and key_row(app, user.id) is None
    assert len(actions(app, "two_factor.disabled")) == 1
    sign_out(client)
    assert login(client, user, second_factor=False).location == "/"


def test_an_admin_cannot_turn_it_off(app, client, make_user, login):
    user = make_user("lead@nhs.net", role="admin")
    login(client, user)
    assert "Turn off" not in text_of(client.get("/account/two-factor"))
    refused = post_form(client, "/account/two-factor", {"password": DEFAULT_PASSWORD,
                                                        "turn_off": "y"})
    assert refused.status_code == 400 and "cannot be turned off" in text_of(refused)
    assert key_row(app, user.id) is not None


# --- who must have one ----------------------------------------------------------------------


def test_an_admin_without_one_sets_it_up_before_anything_else(app, client, make_user, login):
    user = make_user("lead@nhs.net", role="admin", two_factor=False)
    response = login(client, user, next_url="/admin/users")
    assert response.location == "/auth/two-factor/setup"
    assert client.get("/admin/users").location.startswith("/auth/login")
    assert "needs a code from an authenticator app" in text_of(client.get(response.location))
    _, codes = enrol(client)
    assert len(codes) == 10
    assert client.get("/admin/users").status_code == 200  # signed in now, factor given


@pytest.mark.parametrize(("required", "role", "asked"), [
    ("admin", "coach", False),
    ("admin,coach", "coach", True),
    ("admin,coach", "trainee", False),
    ("admin, trainee, coach", "trainee", True),
])
def test_coaches_and_trainees_need_one_by_setting(make_app, make_user, login, required, role,
                                                 asked):
    app = make_app(TWO_FACTOR_REQUIRED_ROLES=required)
    client = app.test_client()
    user = make_user(f"{role}@nhs.net", role=role)
    response = login(client, user)
    assert (response.location == "/auth/two-factor/setup") is asked


@pytest.mark.parametrize("value", ["coach", "admin,root", "", "trainee,coach"])
def test_the_required_roles_setting_is_checked(make_app, value):
    with pytest.raises(ConfigurationError, match="TWO_FACTOR_REQUIRED_ROLES"):
        make_app(TWO_FACTOR_REQUIRED_ROLES=value)


def test_a_signed_in_session_without_the_factor_its_role_needs_is_held(app, client, make_user,
                                                                       login):
    # A coach signed in with a password alone, then made a programme lead: held at set-up.
    user = make_user("lead@nhs.net", role="coach")
    assert login(client, user).location == "/"
    make_role(app, user.id, "admin")
    assert client.get("/admin/users").location == "/auth/two-factor/setup"
    assert client.get("/account/password").location == "/auth/two-factor/setup"
    enrol(client)
    assert client.get("/admin/users").status_code == 200
    # Enrolled meanwhile elsewhere, but this session never gave a code: signed out.
    other = make_user("coach@nhs.net", role="coach")
    sign_out(client)
    login(client, other)
    enrol_second_factor(app, other.id)
    make_role(app, other.id, "admin")
    assert client.get("/admin/users").location.startswith("/auth/login")
    assert client.get("/admin/users").location.startswith("/auth/login")  # and stays out


def make_role(app, user_id: int, role: str) -> None:
    with app.app_context():
        db.session.get(User, user_id).role = role
        db.session.commit()


# --- an admin's reset -----------------------------------------------------------------------


def test_an_admin_resets_someones_second_factor(app, client, make_user, login):
    lead = make_user("lead@nhs.net", role="admin", name="Lena Lead")
    other = make_user("other@nhs.net", role="admin", name="Otto Other")
    theirs = app.test_client()
    login(theirs, other)
    assert theirs.get("/admin/users").status_code == 200

    signed = login(client, lead)
    assert signed.location == "/", (signed.status_code, signed.location, text_of(signed)[:300])
    person = client.get(f"/admin/users/{other.id}")
    assert "Reset Otto Other's two-step verification" in text_of(person)
    own = client.get(f"/admin/users/{lead.id}")
    assert "you cannot reset it yourself" in text_of(own)
    confirm = client.get(f"/admin/users/{other.id}/two-factor/reset")
    assert "Reset two-step verification?" in text_of(confirm)
    done = post_form(client, f"/admin/users/{other.id}/two-factor/reset", {})
    assert done.location == f"/admin/users/{other.id}"
    assert key_row(app, other.id) is None
    assert theirs.get("/admin/users").location.startswith("/auth/login")  # sessions ended
    [event] = actions(app, "two_factor.reset")
    assert (event.actor_id, event.target) == (lead.id, f"user:{other.id}")
    # At their next sign-in they set it up again.
    assert login(theirs, other).location == "/auth/two-factor/setup"

    refused = post_form(client, f"/admin/users/{lead.id}/two-factor/reset", {})
    assert refused.status_code == 409 and key_row(app, lead.id) is not None
