"""Sign-in throttling behind a reverse proxy: per real client address, per account, failures only.

Attack tests pass only when the attack fails: a forged ``X-Forwarded-For`` buys no fresh
address, and spreading guesses at one account over many addresses is still stopped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import request
from helpers import DEFAULT_PASSWORD, csrf_token, text_of

from feedback360 import create_app
from feedback360.config import ConfigurationError

WRONG = "not the password at all"


def attempt(client, email: str, password: str = WRONG, *, address: str = "127.0.0.1",
            forwarded_for: str | None = None):
    """POST a sign-in from ``address`` (the socket's), optionally with an X-Forwarded-For."""
    token = csrf_token(client.get("/auth/login"))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return client.post("/auth/login", data={"email": email, "password": password,
                                            "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def throttled_app(make_app, **limits: object):
    return make_app(RATELIMIT_ENABLED=True, **{
        "LOGIN_RATE_LIMIT": "1000 per minute", "LOGIN_ACCOUNT_LIMIT": "1000 per minute",
        "RESET_RATE_LIMIT": "1000 per minute", "RESET_ACCOUNT_LIMIT": "1000 per minute",
        **limits})


# --- the client's address: ProxyFix, and nothing for a forger -------------------------------


@pytest.mark.parametrize(("hops", "socket", "forwarded"), [
    # No proxy trusted: whatever the client claims, the socket address is counted.
    (0, "198.51.100.7", ["203.0.113.1", "203.0.113.2", "203.0.113.3"]),
    # One proxy: the client prepends forged entries; the proxy appends the real address last.
    (1, "10.0.0.2", ["203.0.113.1, 198.51.100.7", "203.0.113.2, 198.51.100.7",
                     "203.0.113.3,198.51.100.7"]),
    # Two proxies: the address the outer proxy saw is second from the right.
    (2, "10.0.0.2", ["1.1.1.1, 198.51.100.7, 10.0.0.1", "2.2.2.2, 198.51.100.7, 10.0.0.1",
                     "3.3.3.3, 198.51.100.7, 10.0.0.1"]),
])
def test_a_forged_x_forwarded_for_buys_no_fresh_address(make_app, hops, socket, forwarded):
    app = throttled_app(make_app, TRUSTED_PROXIES=hops, LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    statuses = [attempt(client, f"guess{n}@nhs.net", address=socket,
                        forwarded_for=header).status_code
                for n, header in enumerate(forwarded)]
    assert statuses == [400, 400, 429]


def test_behind_the_proxy_each_real_client_has_its_own_count(make_app):
    app = throttled_app(make_app, TRUSTED_PROXIES=1, LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    for _ in range(2):
        assert attempt(client, "a@nhs.net", address="10.0.0.2",
                       forwarded_for="198.51.100.7").status_code == 400
    assert attempt(client, "a@nhs.net", address="10.0.0.2",
                   forwarded_for="198.51.100.7").status_code == 429
    # Someone else behind the same proxy is not shut out by them.
    assert attempt(client, "b@nhs.net", address="10.0.0.2",
                   forwarded_for="198.51.100.8").status_code == 400


@pytest.mark.parametrize(("hops", "seen"), [
    (0, ("10.0.0.2", "http", "localhost")),
    (1, ("198.51.100.7", "https", "feedback.example.nhs.uk")),
])
def test_the_app_sees_the_client_scheme_and_host_only_from_trusted_proxies(make_app, hops,
                                                                          seen):
    app = throttled_app(make_app, TRUSTED_PROXIES=hops)

    @app.get("/test-only/who-am-i")
    def who_am_i():  # type: ignore[no-untyped-def]
        return {"seen": [request.remote_addr, request.scheme, request.host]}

    response = app.test_client().get("/test-only/who-am-i", environ_base={
        "REMOTE_ADDR": "10.0.0.2"}, headers={
        "X-Forwarded-For": "203.0.113.66, 198.51.100.7", "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "feedback.example.nhs.uk"})
    assert tuple(response.json["seen"]) == seen


@pytest.mark.parametrize("hops", [-1, 11, "two", 1.5, True])
def test_trusted_proxies_must_be_a_small_whole_number(app_config, tmp_path, hops):
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES"):
        create_app({**app_config, "INSTANCE_PATH": str(tmp_path), "TRUSTED_PROXIES": hops})


@pytest.mark.parametrize("name", ["LOGIN_ACCOUNT_LIMIT", "RESET_ACCOUNT_LIMIT",
                                  "LOGIN_RATE_LIMIT", "VERIFY_RATE_LIMIT"])
def test_a_limit_that_does_not_parse_stops_the_app_starting(app_config, tmp_path, name):
    with pytest.raises(ConfigurationError, match=name):
        create_app({**app_config, "INSTANCE_PATH": str(tmp_path), name: "five a minute"})


def test_trusted_proxies_comes_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    assert make_app().config["TRUSTED_PROXIES"] == 2


@pytest.mark.parametrize(("uri", "warned"), [("memory://", True),
                                             ("redis://127.0.0.1:6379/0", False)])
def test_production_warns_when_each_worker_would_count_alone(make_app, caplog, uri, warned):
    make_app(FEEDBACK360_ENV="production", SECRET_KEY="k" * 64, RATELIMIT_ENABLED=True,
             RATELIMIT_STORAGE_URI=uri)
    assert ("each worker process counts sign-in attempts alone" in caplog.text) is warned


# --- successful sign-ins are never counted -----------------------------------------------------


def test_forty_correct_sign_ins_of_twelve_people_from_one_address_all_succeed(make_app,
                                                                              make_user):
    people = [make_user(f"person{n}@nhs.net") for n in range(12)]
    app = make_app(RATELIMIT_ENABLED=True)  # the default limits: 10 per minute, 50 per hour
    statuses = [attempt(app.test_client(), people[n % 12].email, DEFAULT_PASSWORD).status_code
                for n in range(40)]
    assert statuses == [302] * 40


# --- failed sign-ins per account, from anywhere ---------------------------------------------


def _masked(response, email: str) -> str:
    return re.sub(r"\s+", " ", text_of(response).replace(email, "EMAIL"))


@pytest.mark.parametrize("has_account", [True, False], ids=["account", "no account"])
def test_guesses_at_one_account_from_many_addresses_are_stopped(make_app, make_user,
                                                               has_account):
    email = "target@nhs.net"
    if has_account:
        make_user(email)
    app = throttled_app(make_app, LOGIN_ACCOUNT_LIMIT="3 per 15 minutes")
    client = app.test_client()
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        # Case and spacing do not make a fresh account.
        for n, typed in enumerate([email, "Target@NHS.net", " TARGET@nhs.net "]):
            assert attempt(client, typed, address=f"203.0.113.{n}").status_code == 400
        # Now even the right password is refused, from yet another address.
        refused = attempt(client, email, DEFAULT_PASSWORD, address="198.51.100.99")
    assert refused.status_code == 429
    # The window opened with the first failure; the time shown is rounded up to the minute.
    unlocked = start + timedelta(minutes=15, seconds=59)
    text = text_of(refused)
    assert "Too many failed sign-ins for this email address" in text
    assert f"Try again after {unlocked:%H:%M} UTC" in text
    assert 0 < int(refused.headers["Retry-After"]) <= 16 * 60
    assert "reset your password" in text
    # Other accounts are not locked by it.
    assert attempt(client, "someone.else@nhs.net", address="198.51.100.99").status_code == 400
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        later = attempt(client, email, DEFAULT_PASSWORD, address="198.51.100.99")
    assert later.status_code == (302 if has_account else 400)


def test_a_locked_account_and_a_missing_one_get_the_same_refusal(make_app, make_user):
    make_user("real@nhs.net")
    app = throttled_app(make_app, LOGIN_ACCOUNT_LIMIT="2 per hour")
    client = app.test_client()
    pages = {}
    for email in ("real@nhs.net", "nobody@nhs.net"):
        for _ in range(2):
            attempt(client, email)
        pages[email] = attempt(client, email)
    assert {page.status_code for page in pages.values()} == {429}
    assert _masked(pages["real@nhs.net"], "real@nhs.net") == \
        _masked(pages["nobody@nhs.net"], "nobody@nhs.net")


# --- reset and activation requests per account ------------------------------------------------


def test_reset_and_activation_requests_are_limited_per_account(make_app, make_user):
    make_user("asked@nhs.net")
    app = throttled_app(make_app, RESET_ACCOUNT_LIMIT="2 per hour")
    client = app.test_client()

    def ask(email: str, address: str):
        token = csrf_token(client.get("/auth/forgot-password"))
        return client.post("/auth/forgot-password", data={"email": email, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": address})

    assert [ask("asked@nhs.net", f"203.0.113.{n}").status_code for n in range(2)] == [200, 200]
    refused = ask("ASKED@nhs.net", "198.51.100.1")
    assert refused.status_code == 429
    assert "Too many requests for this email address. Try again after" in text_of(refused)
    assert ask("other@nhs.net", "198.51.100.1").status_code == 200


def test_wrong_current_passwords_from_a_stolen_session_share_the_account_count(make_app,
                                                                              make_user):
    user = make_user("stolen@nhs.net")
    app = throttled_app(make_app, LOGIN_ACCOUNT_LIMIT="3 per 15 minutes")
    thief, owner = app.test_client(), app.test_client()
    assert attempt(thief, user.email, DEFAULT_PASSWORD).status_code == 302

    def change(current: str, new: str = "a brand new passphrase"):
        token = csrf_token(thief.get("/account/password"))
        return thief.post("/account/password", data={
            "current_password": current, "password": new, "confirm": new, "csrf_token": token})

    # The right current password with an unacceptable new one is not a guess: not counted.
    assert change(DEFAULT_PASSWORD, new=DEFAULT_PASSWORD).status_code == 400
    assert [change(f"guess {n}").status_code for n in range(3)] == [400] * 3
    assert change(DEFAULT_PASSWORD).status_code == 429
    assert "Too many failed sign-ins" in text_of(attempt(owner, user.email, DEFAULT_PASSWORD))

