#!/usr/bin/env python3
"""The rater survey driven in-process: per-request CPU time, without gunicorn or the network.

``bench/submit.py`` measures what a deployment serves; this helper answers where one survey's
CPU goes, with the same synthetic data and the same simulated rater (``submit.Rater``), but
through Flask's test client in this process. Each request is timed with ``time.thread_time``
(CPU of this thread: no queueing, little noise from other processes) and wall time::

    .venv/bin/python bench/_inprocess.py                      # SQLite, 40 surveys after 5 warm
    .venv/bin/python bench/_inprocess.py --db postgresql --surveys 100
    .venv/bin/python bench/_inprocess.py --profile --top 30   # cProfile of the measured surveys
    .venv/bin/python bench/_inprocess.py --dump /tmp/pages    # one page of each kind, normalised

``--dump`` writes each kind of page once (CSRF tokens and CSP nonces replaced by fixed text)
so two trees' markup can be compared with ``diff -r``; the ``Set-Cookie`` headers each kind of
request sent are printed too. A helper (leading ``_``), not a benchmark: nothing is written to
``bench/results``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import submit  # noqa: E402  (bench/submit.py: seeding, the simulated rater)

_CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*(")')
_NONCE = re.compile(r'(nonce=")[^"]*(")')


def normalise(html: str) -> str:
    return _NONCE.sub(r"\1NONCE\2", _CSRF.sub(r"\1CSRF\2", html))


class ClientBrowser:
    """``submit.Browser``'s interface over Flask's test client, timing every request."""

    def __init__(self, app, stats: submit.RaterStats) -> None:
        self.client = app.test_client(use_cookies=False)
        self.stats = stats
        self.cookies: dict[str, str] = {}
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.wall: dict[str, list[float]] = defaultdict(list)
        self.set_cookies: dict[str, set[str]] = defaultdict(set)
        self.pages: dict[str, str] = {}
        self.queries: dict[str, list[int]] = defaultdict(list)
        self.statements: dict[str, list[str]] = {}
        self.executed: list[str] = []
        self.record = True
        self.profile: cProfile.Profile | None = None  # set: profile the `profile_kinds` only
        self.profile_kinds: set[str] = set()

    def close(self) -> None:
        pass

    def request(self, kind: str, method: str, path: str,
                fields: dict[str, str] | None = None) -> tuple[int, str, str]:
        headers = {"User-Agent": "feedback360-bench", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if fields is not None:
            data = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = "http://127.0.0.1"
            headers["Referer"] = f"http://127.0.0.1{path}"
        self.executed.clear()
        profile = self.profile if self.record and kind in self.profile_kinds else None
        if profile:
            profile.enable()
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        response = self.client.open(path, method=method, data=data, headers=headers,
                                    base_url="http://127.0.0.1")
        body = response.get_data(as_text=True)
        cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
        if profile:
            profile.disable()
        if self.record:
            self.cpu[kind].append(cpu)
            self.wall[kind].append(wall)
            self.queries[kind].append(len(self.executed))
            self.statements.setdefault(kind, list(self.executed))
        for header in response.headers.getlist("Set-Cookie"):
            pair, _, rest = header.partition(";")
            name, _, value = pair.strip().partition("=")
            self.set_cookies[kind].add(name + ("" if value else " (cleared)"))
            rest = rest.lower()
            if not value or "max-age=0" in rest or "expires=thu, 01 jan 1970" in rest:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if (kind not in self.pages and response.mimetype == "text/html"
                and response.status_code < 300):
            self.pages[kind] = normalise(body)
        if response.status_code >= 400:
            raise submit.ProtocolError(f"{method} {kind}: HTTP {response.status_code}")
        location = urlsplit(response.headers.get("Location", ""))
        where = location.path + (f"?{location.query}" if location.query else "")
        return response.status_code, where, body


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="feedback360-inprocess-"))
    stack = contextlib.ExitStack()
    try:
        if args.db == "sqlite":
            url = f"sqlite:///{workdir / 'bench.sqlite'}"
        else:
            pg = submit.load_pg_cluster()
            cluster = stack.enter_context(pg.temporary_cluster())
            url = pg.create_database(cluster, "feedback360_inprocess", replace=True)
        submit.migrate(url)
        total = args.warmup + args.surveys
        seeded = submit.seed(url, trainees=60, invitations=total + 10,
                             rng=random.Random(args.seed))
        app = submit.make_app(url)
        rater = submit.Rater(0, list(seeded.tokens), threading.Lock(), submit.Clock(), args.seed)
        browser = ClientBrowser(app, rater.stats)
        rater.browser = browser
        with app.app_context():
            from sqlalchemy import event

            from feedback360.extensions import db

            event.listen(db.engine, "before_cursor_execute",
                         lambda _c, _cur, statement, *_: browser.executed.append(statement))
        browser.record = False
        for _ in range(args.warmup):
            rater.survey(rater.tokens.pop())
        browser.record = True
        profile = cProfile.Profile() if args.profile or args.profile_only else None
        if args.profile_only:
            browser.profile, browser.profile_kinds = profile, set(args.profile_only.split(","))
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        if profile and not args.profile_only:
            profile.enable()
        for _ in range(args.surveys):
            rater.survey(rater.tokens.pop())
        if profile and not args.profile_only:
            profile.disable()
        cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
        report(args, browser, cpu, wall)
        if profile:
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
        if args.dump:
            target = Path(args.dump)
            target.mkdir(parents=True, exist_ok=True)
            for kind, html in browser.pages.items():
                (target / f"{kind}.html").write_text(html)
            print(f"pages written to {target}")
        with app.app_context():
            from feedback360.extensions import db

            db.session.remove()
            db.engine.dispose()
        return 0
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)


def report(args: argparse.Namespace, browser: ClientBrowser, cpu: float, wall: float) -> None:
    order = ["start", "welcome", "page_get", "page_save", "comments_get", "comments_save",
             "review", "submit", "thanks"]
    print(f"\n{args.surveys} surveys in-process on {args.db} "
          f"({args.warmup} warm-up surveys not counted)")
    print(f"  {'request':<15}{'count':>6}{'CPU ms med':>12}{'mean':>8}{'wall ms med':>13}"
          f"{'SQL':>5}   Set-Cookie")
    for kind in order:
        if kind not in browser.cpu:
            continue
        values, walls = browser.cpu[kind], browser.wall[kind]
        print(f"  {kind:<15}{len(values):>6}{statistics.median(values) * 1000:>12.2f}"
              f"{statistics.mean(values) * 1000:>8.2f}{statistics.median(walls) * 1000:>13.2f}"
              f"{statistics.mean(browser.queries[kind]):>5.1f}"
              f"   {', '.join(sorted(browser.set_cookies.get(kind, ()))) or '-'}")
    if args.sql:
        for kind in order:
            for statement in browser.statements.get(kind, ()):
                print(f"  [{kind}] {' '.join(statement.split())[:300]}")
    print(f"  per survey: {cpu / args.surveys * 1000:.1f} ms CPU (this thread), "
          f"{wall / args.surveys * 1000:.1f} ms wall -> {args.surveys / cpu:.1f} surveys/s "
          f"per core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--surveys", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the measured surveys, load generator included")
    parser.add_argument("--profile-only", metavar="KINDS",
                        help="cProfile only these kinds of request (comma-separated: page_save...)")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", metavar="DIR")
    parser.add_argument("--sql", action="store_true",
                        help="print the SQL statements of one request of each kind")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
