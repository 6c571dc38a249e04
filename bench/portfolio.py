#!/usr/bin/env python3
"""Benchmark ``bench/portfolio``: the trainee's leadership portfolio page, and the programme
lead's time report page, as the database grows (issue 13, point 8).

For each database (SQLite file, throwaway PostgreSQL cluster) and each size (trainees) this script

1. creates a fresh database and migrates it (``flask --app wsgi db upgrade``);
2. seeds it in bulk: trainees (one programme lead too), an open catalogue of 40 opportunities,
   one released cycle per trainee with its stored summary and domain score rows, 20 activities
   per trainee (14 done, 6 education; two CLCF elements each), written feedback requested on a
   quarter of them (given, sent, declined), six time reports per trainee (used and unavailable)
   and a letter for one trainee in ten;
3. runs the real app in-process (``create_app``, production settings), signs in through the real
   forms as trainees spread over the whole database (and as the lead, with the second factor),
   and times each page of ``PAGES`` that the app serves (a page another part has not built yet
   is reported as skipped): wall time around the test client's ``get`` and SQL statements per
   request (and the thread's CPU time, which a busy neighbour does not inflate), after a warm-up,
   sizes interleaved request by request so a busy neighbour slows all alike;
4. prints p50/p95/p99 per page and size, the p95 ratio largest/smallest and the aim's verdict,
   and writes ``bench/results/portfolio-<db>.json``.

The aim (issue 13): p95 under 150 ms in each size, and flat with size (the largest size's p95
within 1.2x the smallest's). Missing it is reported, not an error; exit status 1 only when a
request failed or seeding went wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/

from _common import (  # shared with the other benchmarks
    FIRST,
    LAST,
    SITES,
    SPECIALTIES,
    app_fingerprint,
    cores,
    log,
    make_app,
    migrate,
    percentile,
    run_each_database,
)
from _seed import FreshDatabases, Loader, database_size, spread

AIM_P95_MS = 150.0
AIM_FLAT_RATIO = 1.2
PASSWORD = "bench-portfolio-password"  # noqa: S105 (a throwaway database's accounts)
EMAIL_DOMAIN = "bench.nhs.uk"
LEAD_EMAIL = f"lead@{EMAIL_DOMAIN}"
LEAD_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ACTIVITIES_PER_TRAINEE = 20
EDUCATION_EVERY = 3  # one activity in three (by position, 6 of 20) is education
TIME_REPORTS_PER_TRAINEE = 6
OPPORTUNITIES = 40
# (label, who asks, path): add a page here once it exists; pages the app does not serve are
# skipped and reported so.
PAGES = (
    ("portfolio", "trainee", "/portfolio"),
    ("time_reports", "lead", "/admin/time-reports"),
)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
FINGERPRINTED = ("feedback360/views/portfolio.py", "feedback360/services/portfolio_summary.py",
                 "templates/portfolio", "bench/portfolio.py")


@dataclass
class Seeded:
    trainees: int
    sample: list[str]  # emails of the trainees timed
    rows: dict[str, int]
    seconds: float
    database_bytes: int | None


def seed(database_url: str, kind: str, *, trainees: int, args: argparse.Namespace) -> Seeded:
    from sqlalchemy import select

    from feedback360.extensions import db
    from feedback360.instruments import load_directory, snapshot
    from feedback360.models import (
        Activity,
        ActivityElement,
        ActivityFeedbackRequest,
        CycleScore,
        CycleSummary,
        FeedbackCycle,
        LeadershipOpportunity,
        Letter,
        OpportunityElement,
        TimeReport,
        User,
    )
    from feedback360.passwords import hash_password
    from feedback360.services import two_factor
    from feedback360.services.clcf_framework import elements_by_key

    started = time.perf_counter()
    app = make_app(database_url)
    now = datetime.now(UTC)
    today = now.date()
    rng = random.Random(args.seed)
    with app.app_context():
        version = snapshot(load_directory(app.config["INSTRUMENTS_DIR"])["clcf"])
        db.session.commit()
        # read now: loading it during a COPY would wait on the very connection copying
        version_id = version.id
        elements = list(elements_by_key().values())
        domain_keys = sorted({e.domain_key for e in elements})
        connection = db.session.connection()
        if kind == "sqlite":
            connection.exec_driver_sql("PRAGMA synchronous = OFF")
        loader = Loader(kind, connection)

        def as_json(value: Any) -> Any:  # COPY takes JSON as text; SQLite's loader encodes it
            return json.dumps(value) if kind == "postgresql" else value

        password_hash = hash_password(PASSWORD)
        since = now - timedelta(days=700)

        def users() -> Iterator[tuple[Any, ...]]:
            for n in range(trainees):
                yield (f"trainee{n:05d}@{EMAIL_DOMAIN}",
                       f"{FIRST[n % len(FIRST)]} {LAST[(n * 7) % len(LAST)]}", password_hash,
                       "trainee", True, secrets.token_hex(16), SPECIALTIES[n % len(SPECIALTIES)],
                       1 + n % 3, SITES[n % len(SITES)], since, since)
            yield (LEAD_EMAIL, "Bench Lead", password_hash, "admin", True, secrets.token_hex(16),
                   None, None, None, since, since)

        loader.load(User.__table__, ["email", "name", "password_hash", "role", "active",
                                     "session_nonce", "specialty", "training_year", "site",
                                     "created_at", "activated_at"], users())
        ids = dict(connection.execute(select(User.email, User.id)).all())
        trainee_ids = [ids[f"trainee{n:05d}@{EMAIL_DOMAIN}"] for n in range(trainees)]
        lead_id = ids[LEAD_EMAIL]

        loader.load(LeadershipOpportunity.__table__,
                    ["id", "title", "kind", "description", "how_to_join", "status", "created_at",
                     "updated_at"],
                    ((i + 1, f"Opportunity {i + 1}", "meeting", "", "", "open", since, since)
                     for i in range(OPPORTUNITIES)))
        loader.load(OpportunityElement.__table__, ["opportunity_id", "element_key", "domain_key"],
                    ((i + 1, element.key, element.domain_key) for i in range(OPPORTUNITIES)
                     for element in {elements[i % len(elements)].key: elements[i % len(elements)],
                                     elements[(i * 7 + 3) % len(elements)].key:
                                     elements[(i * 7 + 3) % len(elements)]}.values()))

        released = now - timedelta(days=30)
        loader.load(FeedbackCycle.__table__,
                    ["id", "trainee_id", "instrument_version_id", "title", "status", "closes_on",
                     "created_at", "opened_at", "closed_at", "released_at", "released_by_id"],
                    ((n + 1, trainee_id, version_id, "Leadership feedback", "released",
                      today - timedelta(days=40), since, since, released - timedelta(days=7),
                      released, lead_id) for n, trainee_id in enumerate(trainee_ids)))
        loader.load(CycleSummary.__table__, ["cycle_id", "report", "enough_responses",
                                             "response_count", "computed_at"],
                    ((n + 1, as_json({}), True, 12, released) for n in range(trainees)))
        loader.load(CycleScore.__table__, ["cycle_id", "level", "key", "self_score",
                                           "others_mean", "others_n"],
                    ((n + 1, "domain", key, round(rng.uniform(2.5, 4.8), 2),
                      round(rng.uniform(2.4, 4.6), 2), 12)
                     for n in range(trainees) for key in domain_keys))

        def activities() -> Iterator[tuple[Any, ...]]:
            for n, trainee_id in enumerate(trainee_ids):
                for a in range(ACTIVITIES_PER_TRAINEE):
                    education = a % EDUCATION_EVERY == 0
                    started_on = today - timedelta(days=7 + 17 * a + n % 7)
                    yield (n * ACTIVITIES_PER_TRAINEE + a + 1, trainee_id,
                           "education" if education else "doing",
                           "course" if education else "committee", f"Activity {a + 1}",
                           "What I did and my role.", started_on, 1.5 + a % 4, "", "", since,
                           since)

        loader.load(Activity.__table__,
                    ["id", "trainee_id", "kind", "category", "title", "description",
                     "started_on", "hours", "went_well", "do_differently", "created_at",
                     "updated_at"], activities())
        total = trainees * ACTIVITIES_PER_TRAINEE
        loader.load(ActivityElement.__table__, ["activity_id", "element_key", "domain_key"],
                    ((i + 1, element.key, element.domain_key) for i in range(total)
                     for element in (elements[i % len(elements)],
                                     elements[(i + 5) % len(elements)])))
        statuses = ("given", "given", "sent", "declined")
        loader.load(ActivityFeedbackRequest.__table__,
                    ["activity_id", "observer_name", "observer_email", "message", "element_keys",
                     "token_nonce", "status", "answers", "overall", "reminder_count",
                     "created_at", "given_at"],
                    ((i + 1, "Dr Observer", f"observer{i % 97}@{EMAIL_DOMAIN}", "",
                      as_json([elements[i % len(elements)].key]), secrets.token_hex(8),
                      statuses[(i // 4) % 4], as_json({}), "",
                      0, since, since if statuses[(i // 4) % 4] == "given" else None)
                     for i in range(0, total, 4)))
        reasons = ("rota", "service_pressure", "leave_refused", "other")
        loader.load(TimeReport.__table__,
                    ["trainee_id", "kind", "occurred_on", "hours", "description", "reason",
                     "reason_detail", "site", "specialty", "created_at"],
                    ((trainee_id, "used" if r % 2 else "unavailable",
                      today - timedelta(days=11 + 29 * r + n % 13), 3.5, "",
                      None if r % 2 else reasons[(n + r) % 4], "", SITES[n % len(SITES)],
                      SPECIALTIES[n % len(SPECIALTIES)], since)
                     for n, trainee_id in enumerate(trainee_ids)
                     for r in range(TIME_REPORTS_PER_TRAINEE)))
        loader.load(Letter.__table__,
                    ["trainee_id", "issuer_name", "issuer_role", "verification_code", "title",
                     "content", "issued_at"],
                    ((trainee_id, "Bench Lead", "Programme lead", f"BENCH{n:07d}", "Letter",
                      as_json({}), since)
                     for n, trainee_id in enumerate(trainee_ids) if n % 10 == 0))
        db.session.commit()
        two_factor.enrol_with_secret(db.session.get(User, lead_id), LEAD_TOTP)
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))  # statistics, as a live database has them
        db.session.commit()
        size = database_size(kind, database_url)
        rows = dict(loader.rows)
        db.engine.dispose()
    sample = [f"trainee{n:05d}@{EMAIL_DOMAIN}" for n in spread(trainees, args.sample)]
    return Seeded(trainees, sample, rows, time.perf_counter() - started, size)


def sign_in(app: Any, email: str, totp: str | None = None) -> Any:
    """A test client signed in through the real forms (and the code step, for the lead)."""
    client = app.test_client()

    def token(page: Any) -> str:
        match = CSRF_RE.search(page.get_data(as_text=True))
        if page.status_code != 200 or not match:
            raise RuntimeError(f"{page.request.path}: HTTP {page.status_code}, no CSRF token")
        return match.group(1) or match.group(2)

    page = client.get("/auth/login")
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD,
                                                "csrf_token": token(page)},
                           headers={"Referer": page.request.url})
    if totp and response.headers.get("Location", "").endswith("/auth/two-factor"):
        import pyotp

        step = client.get("/auth/two-factor")
        response = client.post("/auth/two-factor",
                               data={"code": pyotp.TOTP(totp).now(), "csrf_token": token(step)},
                               headers={"Referer": step.request.url})
    if response.status_code != 302 or "/auth/" in response.headers.get("Location", ""):
        raise RuntimeError(f"sign-in as {email} failed: HTTP {response.status_code}")
    return client


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


@dataclass
class Target:
    size: int
    app: Any
    clients: dict[str, list[Any]]
    counter: QueryCounter
    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)  # the thread's: neighbours aside
    queries: dict[str, list[int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def get(self, label: str, who: str, path: str, rng: random.Random, *, timed: bool) -> None:
        client = rng.choice(self.clients[who])
        before = self.counter.count
        started, cpu_started = time.perf_counter(), time.thread_time()
        response = client.get(path)
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
        if response.status_code != 200:
            self.errors.append(f"{label}: HTTP {response.status_code}")
        if timed:
            self.wall.setdefault(label, []).append(elapsed)
            self.cpu.setdefault(label, []).append(cpu)
            self.queries.setdefault(label, []).append(self.counter.count - before)


def served(app: Any, path: str) -> bool:
    from werkzeug.exceptions import HTTPException

    try:
        app.url_map.bind("").match(path, method="GET")
    except HTTPException:
        return False
    return True


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import event

    from feedback360.extensions import db

    workdir = Path(tempfile.mkdtemp(prefix=f"feedback360-portfolio-{kind}-"))
    stack = contextlib.ExitStack()
    targets: list[Target] = []
    runs: list[dict[str, Any]] = []
    skipped: list[str] = []
    try:
        databases = FreshDatabases(kind, workdir, stack, keep=args.keep)
        for size in args.sizes:
            name = f"portfolio-{size}" if kind == "sqlite" else f"feedback360_portfolio_{size}"
            database_url, detail = databases.create(name)
            log(f"{kind}/{size}: {detail}")
            migrate(database_url)
            seeded = seed(database_url, kind, trainees=size, args=args)
            log(f"{kind}/{size}: seeded in {seeded.seconds:.1f} s: "
                + ", ".join(f"{k} {v:,}" for k, v in seeded.rows.items()))
            app = make_app(database_url)
            counter = QueryCounter()
            with app.app_context():
                event.listen(db.engine, "before_cursor_execute", counter)
            clients = {"trainee": [sign_in(app, email) for email in seeded.sample],
                       "lead": [sign_in(app, LEAD_EMAIL, LEAD_TOTP)]}
            targets.append(Target(size, app, clients, counter))
            runs.append({"size": size, "database_detail": detail,
                         "seed": {"trainees": size, "rows": seeded.rows,
                                  "seconds": round(seeded.seconds, 1),
                                  "database_mb": round(seeded.database_bytes / 2**20, 1)
                                  if seeded.database_bytes else None,
                                  "timed_trainees": len(seeded.sample)}})
        pages = [page for page in PAGES if served(targets[0].app, page[2])]
        skipped = [page[2] for page in PAGES if page not in pages]
        for path in skipped:
            log(f"{kind}: {path} is not served by this app: skipped")
        rng = random.Random(args.seed)
        for timed, count in ((False, args.warmup), (True, args.requests)):
            for _ in range(count):
                for target in targets:
                    for label, who, path in pages:
                        target.get(label, who, path, rng, timed=timed)
        for run, target in zip(runs, targets, strict=True):
            run["pages"] = {label: {**summary(target.wall.get(label, [])),
                                    "cpu": summary(target.cpu.get(label, [])),
                                    "queries_per_request": max(target.queries.get(label, [0]))}
                            for label, _who, _path in pages}
            run["errors"] = target.errors[:20]
            for label, figures in run["pages"].items():
                log(f"{kind}/{target.size} {label}: p50 {figures['p50_ms']} ms, p95 "
                    f"{figures['p95_ms']} ms (CPU p50 {figures['cpu']['p50_ms']} ms), "
                    f"{figures['queries_per_request']} queries")
    finally:
        stack.close()
        if args.keep:
            log(f"{kind}: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return verdict({"benchmark": "portfolio", "database": kind,
                    "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": {"cores": cores(), "python": sys.version.split()[0]},
                    "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
                    "aim": {"p95_ms": AIM_P95_MS, "flat_ratio": AIM_FLAT_RATIO},
                    "skipped_pages": skipped, "app_tree": app_fingerprint(FINGERPRINTED),
                    "runs": runs})


def summary(values: list[float]) -> dict[str, Any]:
    values = sorted(values)

    def ms(fraction: float) -> float | None:
        found = percentile(values, fraction)
        return None if found is None else round(found * 1000, 1)

    return {"count": len(values), "p50_ms": ms(0.50), "p95_ms": ms(0.95), "p99_ms": ms(0.99),
            "max_ms": ms(1.0)}


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    runs = result["runs"]
    labels = sorted({label for run in runs for label in run.get("pages", {})})
    verdicts = {}
    for label in labels:
        p95s = [run["pages"][label]["p95_ms"] for run in runs]
        ratio = (round(p95s[-1] / p95s[0], 2) if len(p95s) > 1 and p95s[0] else None)
        verdicts[label] = {"p95_ms_by_size": dict(zip([run["size"] for run in runs], p95s,
                                                      strict=True)),
                           "ratio_largest_smallest": ratio,
                           "under_aim": all(p is not None and p < AIM_P95_MS for p in p95s),
                           "flat": ratio is None or ratio <= AIM_FLAT_RATIO}
    result["verdict"] = verdicts
    return result


def print_report(result: dict[str, Any]) -> None:
    print(f"\n== bench/portfolio, {result['database']}, {result['when']}")
    print(f"{'page':<14}{'trainees':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'CPU p50':>9}"
          f"{'CPU p95':>9}{'queries':>9}")
    for run in result["runs"]:
        for label, figures in run.get("pages", {}).items():
            print(f"{label:<14}{run['size']:>9}{figures['p50_ms']!s:>9}{figures['p95_ms']!s:>9}"
                  f"{figures['p99_ms']!s:>9}{figures['cpu']['p50_ms']!s:>9}"
                  f"{figures['cpu']['p95_ms']!s:>9}{figures['queries_per_request']:>9}")
    for label, found in result["verdict"].items():
        print(f"{label}: p95 {found['p95_ms_by_size']}, largest/smallest "
              f"{found['ratio_largest_smallest']}: "
              f"{'under' if found['under_aim'] else 'OVER'} {AIM_P95_MS:.0f} ms, "
              f"{'flat' if found['flat'] else 'NOT flat'}")
    for path in result["skipped_pages"]:
        print(f"skipped (not served yet): {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="50,5000",
                        help="database sizes in trainees, comma-separated (default 50,5000)")
    parser.add_argument("--requests", type=int, default=200,
                        help="timed requests per page and size (default 200)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="untimed requests per page and size first (default 20)")
    parser.add_argument("--sample", type=int, default=20,
                        help="trainees (spread over the database) signed in and timed "
                             "(default 20)")
    parser.add_argument("--seed", type=int, default=13, help="random seed")
    parser.add_argument("--keep", action="store_true",
                        help="keep the SQLite files (and the databases, in a PostgreSQL cluster "
                             "you started)")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated numbers of trainees, e.g. 50,5000")
    if not args.sizes or min(args.sizes) < 1 or args.requests < 1 or args.sample < 1:
        parser.error("--sizes, --requests and --sample must be positive")

    def report(_kind: str, result: dict[str, Any]) -> bool:
        print_report(result)
        return any(run.get("errors") for run in result["runs"])

    return run_each_database(args.db, lambda kind: bench_database(kind, args),
                             lambda kind: f"portfolio-{kind}.json", report)


if __name__ == "__main__":
    sys.exit(main())
