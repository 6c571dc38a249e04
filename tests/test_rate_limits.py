"""Sign-in and password-reset attempts are rate limited, with a clear 429 page."""

from __future__ import annotations

import pytest
from helpers import csrf_token


@pytest.mark.parametrize(("path", "data"), [
    ("/auth/login", {"email": "someone@nhs.net", "password": "wrong password"}),
    ("/auth/forgot-password", {"email": "someone@nhs.net"}),
    ("/verify", {"code": "K7QF-3MZP-XR9A"}),
])
def test_repeated_attempts_get_a_429_page(make_app, path, data):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute",
                   RESET_RATE_LIMIT="3 per minute", VERIFY_RATE_LIMIT="3 per minute")
    client = app.test_client()
    token = csrf_token(client.get(path).text)
    statuses = [client.post(path, data={**data, "csrf_token": token}).status_code
                for _ in range(4)]
    assert 429 not in statuses[:3]
    assert statuses[3] == 429
    page = client.post(path, data={**data, "csrf_token": token})
    assert page.status_code == 429
    assert "<h1>Too many attempts</h1>" in page.text
    assert page.headers["Retry-After"]
    # Looking at the page is never limited, only sending it.
    assert client.get(path).status_code == 200


def test_limits_are_off_when_disabled(client):
    token = csrf_token(client.get("/auth/login").text)
    for _ in range(12):
        response = client.post("/auth/login", data={"email": "a@nhs.net", "password": "wrong",
                                                    "csrf_token": token})
        assert response.status_code == 400
