"""Sign-in, password reset and activation requests say nothing about which accounts exist.

The same message and status whoever is asked about, after the same password-hashing work
(counted, not timed: ``bench/signin.py`` measures the time), and a reset or activation request
does its account-dependent work only after the response has gone.
"""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from helpers import csrf_token, text_of

from feedback360.extensions import db
from feedback360.models import OutboxMessage

TYPED_PASSWORD = "a guess at the password"

# Who an address belongs to; each must look exactly like "no account".
ACCOUNTS = {
    "no account": None,
    "known, wrong password": {},
    "deactivated": {"active": False},
    "never activated": {"password": None},
}


@pytest.fixture
def hashing(monkeypatch):
    """Counts argon2 work: ``{"verify": n, "hash": n}`` since the fixture was taken."""
    counts = {"verify": 0, "hash": 0}
    for name in counts:
        original = getattr(PasswordHasher, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            counts[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PasswordHasher, name, counted)
    return counts


def _address(make_user, who: str) -> str:
    email = f"{who.replace(' ', '.').replace(',', '')}@nhs.net"
    if ACCOUNTS[who] is not None:
        make_user(email, **ACCOUNTS[who])
    return email


def _as_seen(response, email: str) -> tuple[int, str]:
    """Status and page text, with what differs by design (the typed address, tokens) masked."""
    text = re.sub(r'(nonce|name="csrf_token" [^>]*value)="[^"]*"', "", response.text)
    return response.status_code, text.replace(email, "EMAIL")


def _outbox_size(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(OutboxMessage.id)))


@pytest.mark.parametrize("who", list(ACCOUNTS))
def test_failed_sign_ins_look_alike_and_cost_one_verification(client, make_user, hashing, who):
    email = _address(make_user, who)
    page = client.get("/auth/login")
    hashing.update(verify=0, hash=0)
    response = client.post("/auth/login", data={"email": email, "password": TYPED_PASSWORD,
                                                "csrf_token": csrf_token(page)})
    assert response.status_code == 400
    assert "Enter a correct email address and password" in text_of(response)
    # One argon2 verification whoever it is, with the hasher's own parameters, and no hashing.
    assert hashing == {"verify": 1, "hash": 0}


def test_failed_sign_ins_give_the_same_page(client, make_user):
    pages = set()
    for who in ACCOUNTS:
        email = _address(make_user, who)
        page = client.get("/auth/login")
        response = client.post("/auth/login", data={"email": email, "password": TYPED_PASSWORD,
                                                    "csrf_token": csrf_token(page)})
        pages.add(_as_seen(response, email))
    assert len(pages) == 1


def test_a_correct_password_still_signs_in(client, make_user, login, hashing):
    user = make_user("right@nhs.net")
    assert login(client, user).status_code == 302
    assert hashing["verify"] == 1


def test_the_dummy_hash_never_matches(app):
    from feedback360.passwords import verify_password

    with app.app_context():
        assert not verify_password(None, "no account has this password")
        assert not verify_password("", "")


def test_reset_and_activation_requests_look_alike_and_wait_until_after_the_response(
        app, make_user, smtp):
    """The request itself writes nothing and sends nothing for any address; the mail (a reset
    link, or an activation link for an account never activated) is queued once it has gone."""
    client = app.test_client()
    pages = set()
    for who in ACCOUNTS:
        email = _address(make_user, who)
        token = csrf_token(client.get("/auth/forgot-password"))
        queued = _outbox_size(app)
        response = client.post("/auth/forgot-password", buffered=False,
                               data={"email": email, "csrf_token": token})
        assert _outbox_size(app) == queued, who
        pages.add(_as_seen(response, email))
        response.close()  # as the server does once the response is sent
    assert len(pages) == 1
    [(status, _)] = pages
    assert status == 200
    sent = {message["To"]: message["Subject"] for message in smtp.messages}
    assert sent == {"known.wrong.password@nhs.net": "Reset your feedback360 password",
                    "never.activated@nhs.net": "Activate your feedback360 account"}


def test_a_failing_reset_job_breaks_no_response(app, make_user, monkeypatch, caplog):
    from feedback360.services import accounts

    def broken(email: str) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(accounts, "request_password_reset", broken)
    client = app.test_client()
    token = csrf_token(client.get("/auth/forgot-password"))
    response = client.post("/auth/forgot-password", data={"email": "x@nhs.net",
                                                          "csrf_token": token})
    assert response.status_code == 200
    assert "Work queued after a response failed" in caplog.text
