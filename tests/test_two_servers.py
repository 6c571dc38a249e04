"""Two app servers behind one proxy: the README's production topology.

Two gunicorn instances on different ports share one database and one ``redis-server`` (started
on a free port in a temporary folder, as ``test_throttle_redis`` does), with the same
``SECRET_KEY``. One browser's requests alternate between them, as a round-robin proxy sends
them: a session and CSRF token made on one server are accepted by the other, and failed
sign-ins split across both trip the per-account limit at the same count as on one server.
(``bench/submit.py --servers 2`` runs whole surveys this way under load and checks each
successful submit is exactly one response.)
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request

from helpers import DEFAULT_PASSWORD, csrf_token, free_port, gunicorn_server
from test_throttle import WRONG
from test_throttle_redis import redis_server

from feedback360 import PROJECT_ROOT

CSRF_REFUSED = "The form had expired or was sent from somewhere else"


def _open(opener: urllib.request.OpenerDirector, url: str,
          data: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, final URL, body); redirects followed, errors returned, not raised."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body)  # noqa: S310 - our own loopback server
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, url, error.read().decode()


def test_sessions_csrf_and_rate_limits_hold_across_two_servers(database_url, make_user,
                                                               tmp_path):
    user = make_user("two.servers@nhs.net")
    with contextlib.ExitStack() as stack:
        redis_port = free_port()
        stack.enter_context(redis_server(redis_port, tmp_path))
        env = {"FEEDBACK360_ENV": "development", "SECRET_KEY": "k" * 64,
               "DATABASE_URL": database_url, "MAIL_BACKEND": "file",
               "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
               "LOGIN_RATE_LIMIT": "1000 per minute", "LOGIN_ACCOUNT_LIMIT": "3 per 15 minutes"}
        served = [stack.enter_context(gunicorn_server(
            {**env, "FEEDBACK360_INSTANCE": str(tmp_path / f"served-{n}")}, workers=1,
            cwd=PROJECT_ROOT)) for n in range(2)]
        bases = [base for base, _ in served]
        assert bases[0] != bases[1]
        # Three wrong passwords, each form fetched from one server and posted to the other
        # (the posts going to each server in turn), then the right password: the lock is
        # counted across both servers, through Redis.
        statuses, refused = [], []
        for n, password in enumerate([WRONG] * 3 + [DEFAULT_PASSWORD]):
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
            _, _, page = _open(opener, bases[n % 2] + "/auth/login")
            status, _, body = _open(opener, bases[(n + 1) % 2] + "/auth/login", {
                "email": user.email, "password": password, "csrf_token": csrf_token(page)})
            statuses.append(status)
            refused.append(CSRF_REFUSED in body)
        assert statuses == [400, 400, 400, 429]  # as on one server (test_throttle_redis)
        assert not any(refused)

        # Another account, not locked: signed in on one server, signed in on the other.
        other = make_user("other.account@nhs.net")
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        _, _, page = _open(opener, bases[0] + "/auth/login")
        status, landed, body = _open(opener, bases[1] + "/auth/login", {
            "email": other.email, "password": DEFAULT_PASSWORD, "csrf_token": csrf_token(page)})
        assert status == 200 and "/auth/login" not in landed, body[:500]
        # The session cookie belongs to 127.0.0.1 whatever the port, as behind one proxy.
        status, landed, _ = _open(opener, bases[0] + "/")
        assert status == 200 and "/auth/login" not in landed
    for _, server in served:
        server.communicate(timeout=60)  # stopped; its pipes closed
