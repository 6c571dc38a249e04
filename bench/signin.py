#!/usr/bin/env python3
"""Benchmark ``bench/signin``: does a sign-in or a reset request take longer for a real account?

Migrates a fresh database, creates one account with the production argon2id settings, starts
gunicorn as the README does (from the project root, so with ``gunicorn.conf.py``) on a free
127.0.0.1 port and, over one connection per request like a browser after a form, sends
alternately, known first then unknown first (so drift in the machine's load, and the work a
known address's reset does after its response, fall on both alike):

* ``POST /auth/login`` with the account's address and a wrong password, and with an address
  that has no account (the same wrong password);
* ``POST /auth/forgot-password`` with the account's address, and with the unknown one.

Then, on a second gunicorn with the throttle on (``RATELIMIT_ENABLED``, the default limits,
``memory://`` storage), complete sign-ins of admins with a second factor: the correct password
(``POST /auth/login``), then a current TOTP code (``POST /auth/two-factor``), each admin once,
in a fresh browser (a code is accepted once, so one admin per sign-in).

Each time is from sending the request to having read the whole response, what someone trying
addresses can see. Prints the median and p95 of each and the difference of the medians, and
writes them to ``bench/results/signin-<db>.json``::

    .venv/bin/python bench/signin.py                     # SQLite, 40 of each
    .venv/bin/python bench/signin.py --db both --requests 100
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import ROOT, log, percentile

KNOWN = "known.person@nhs.net"
UNKNOWN = "nobody.here@nhs.net"
PASSWORD = "plum kettle orbit lantern"  # noqa: S105 - a throwaway account
WRONG = "not the password at all"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A cookie and a CSRF token, one connection per request (gunicorn's sync workers close it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None
                ) -> tuple[int, str, float]:
        body = urlencode(form) if form is not None else None
        jar = "; ".join(f"{name}={value}" for name, value in self.cookies.items() if value)
        headers = {"Cookie": jar} if jar else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        elapsed = time.perf_counter() - started
        connection.close()
        for cookie in response.msg.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name] = value
        return response.status, text, elapsed

    def post_form(self, path: str, data: dict[str, str]) -> tuple[int, float]:
        status, page, _ = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} gave {status}")
        [token] = _CSRF.findall(page)[:1]
        status, page, elapsed = self.request("POST", path, {**data, "csrf_token": token})
        if status >= 400 and "nhsuk-error-summary" not in page:  # not the form's own answer
            words = re.sub(r"<[^>]+>", " ", page).split()
            raise RuntimeError(f"POST {path} gave {status}: {' '.join(words[:120])}")
        return status, elapsed


def _seed(database_url: str, admins: int) -> dict[str, str]:
    """The known account, and ``admins`` admins with a second factor: their TOTP keys."""
    import pyotp

    from feedback360.extensions import db
    from feedback360.services import accounts, two_factor

    app = _common.make_app(database_url)
    keys: dict[str, str] = {}
    with app.app_context():
        accounts.create_admin(email=KNOWN, name="Known Person", password=PASSWORD)
        for number in range(admins):
            email = f"admin{number}@nhs.net"
            user = accounts.create_admin(email=email, name=f"Admin {number}", password=PASSWORD)
            keys[email] = pyotp.random_base32()
            two_factor.enrol_with_secret(user, keys[email])
        db.session.commit()
    return keys


def _start_gunicorn(stack: ExitStack, database_url: str, instance: Path,
                    **settings: str) -> int:
    port = _free_port()
    env = {**_common.app_environment(database_url), "FEEDBACK360_INSTANCE": str(instance),
           **settings}
    logs = stack.enter_context((instance / f"gunicorn{len(settings)}.log").open("w"))
    server = subprocess.Popen(  # the README's command; gunicorn.conf.py from ROOT
        [_common.venv_bin("gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT)
    stack.callback(lambda: (server.terminate(), server.wait(timeout=60)))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if Browser(port).request("GET", "/auth/login")[0] == 200:
                return port
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round((percentile(ordered, 0.95) or 0) * 1000, 1), "n": len(ordered)}


def bench(kind: str, requests: int) -> dict[str, Any]:
    with ExitStack() as stack:
        if kind == "postgresql":
            pg = _common.load_pg_cluster()
            given = os.environ.get("DATABASE_URL", "")
            # `make bench PG=1` started a cluster; otherwise a throwaway one.
            cluster_url = (given if given.startswith("postgresql")
                           else stack.enter_context(pg.temporary_cluster()))
            database_url = pg.create_database(cluster_url, "feedback360_signin", replace=True)
            stack.callback(pg.drop_database, cluster_url, "feedback360_signin")
        else:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            database_url = f"sqlite:///{directory / 'bench.sqlite'}"
        instance = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        _common.migrate(database_url)
        keys = _seed(database_url, requests + 3)
        port = _start_gunicorn(stack, database_url, instance)
        browser = Browser(port)
        times: dict[str, list[float]] = {name: [] for name in (
            "sign-in, known email", "sign-in, unknown email",
            "reset, known email", "reset, unknown email")}
        for what, path, form in (
                ("sign-in", "/auth/login", lambda email: {"email": email, "password": WRONG}),
                ("reset", "/auth/forgot-password", lambda email: {"email": email})):
            expected = 400 if what == "sign-in" else 200
            # The first 3 rounds warm the workers up; the order alternates, so that one kind's
            # work after its response (a known reset's mail) weighs on both kinds alike.
            for round_number in range(requests + 3):
                pair = (("known", KNOWN), ("unknown", UNKNOWN))
                for who, email in pair if round_number % 2 else pair[::-1]:
                    status, elapsed = browser.post_form(path, form(email))
                    if status != expected:
                        raise RuntimeError(f"{what} for {who} gave {status}, not {expected}")
                    if round_number >= 3:
                        times[f"{what}, {who} email"].append(elapsed)
        times.update(_complete_sign_ins(_start_gunicorn(
            stack, database_url, instance, RATELIMIT_ENABLED="1"), keys))
        result: dict[str, Any] = {name: _summary(values) for name, values in times.items()}
        for what in ("sign-in", "reset"):
            result[f"{what}: known minus unknown median_ms"] = round(
                result[f"{what}, known email"]["median_ms"]
                - result[f"{what}, unknown email"]["median_ms"], 1)
        result["code"] = _common.app_fingerprint(("bench/signin.py", "gunicorn.conf.py"))
        return result


def _complete_sign_ins(port: int, keys: dict[str, str]) -> dict[str, list[float]]:
    """Password then code, for each admin once, with the throttle on; the first 3 warm up."""
    import pyotp

    times: dict[str, list[float]] = {name: [] for name in (
        "2FA sign-in, password", "2FA sign-in, code", "2FA sign-in, both steps")}
    for number, (email, key) in enumerate(keys.items()):
        browser = Browser(port)
        status, password_time = browser.post_form("/auth/login",
                                                  {"email": email, "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"the password step for {email} gave {status}, not 302")
        status, code_time = browser.post_form("/auth/two-factor",
                                              {"code": pyotp.TOTP(key).now()})
        if status != 302:
            raise RuntimeError(f"the code step for {email} gave {status}, not 302")
        if number >= 3:
            times["2FA sign-in, password"].append(password_time)
            times["2FA sign-in, code"].append(code_time)
            times["2FA sign-in, both steps"].append(password_time + code_time)
    return times


def report(kind: str, result: dict[str, Any]) -> bool:
    print(f"== signin ({kind})")
    for name, figures in result.items():
        if isinstance(figures, dict) and "median_ms" in figures:
            print(f"   {name:24} median {figures['median_ms']:7.1f} ms   "
                  f"p95 {figures['p95_ms']:7.1f} ms   (n={figures['n']})")
        elif name.endswith("median_ms"):
            print(f"   {name}: {figures:+.1f} ms")
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--requests", type=int, default=40, help="of each kind (default 40)")
    args = parser.parse_args()
    log(f"signin: {args.requests} requests of each kind")
    return _common.run_each_database(args.db, lambda kind: bench(kind, args.requests),
                                     lambda kind: f"signin-{kind}.json", report)


if __name__ == "__main__":
    sys.exit(main())
