#!/usr/bin/env python3
"""Benchmark ``bench/dashboard``: the development dashboard's server time, and whether it stays
flat as the database grows (issue 4, point 10).

For each database (SQLite file, throwaway PostgreSQL cluster) and each size (trainees) this script

1. creates a fresh database and migrates it (``flask --app wsgi db upgrade``);
2. seeds it in bulk: trainees, coaches and their assignments, one ``clcf`` instrument snapshot,
   three cycles per trainee (two released, the latest closed), fifteen completed invitations and
   fifteen rater responses per cycle plus the trainee's self-assessment, 40 answers each ("not
   observed" as NULL), comments from about half the raters, coach notes and development goals,
   and a stored ``CycleSummary`` for every cycle. Summaries are real ``score_cycle`` reports:
   the answers of every cycle are copied from one of a pool of generated "answer patterns" (120
   per cycle number by default), so one ``CycleReport`` per pattern is computed and every cycle
   gets the report of exactly the answers it holds;
3. runs the real app in-process (``create_app``, production settings, plain HTTP), signs in through
   ``POST /auth/login`` as a coach (assigned to a fixed-size sample of trainees spread over the
   whole database) and as some of those trainees, and times ``GET /cycles/<id>/report`` for random
   cycles they may see (the coach: closed and released; a trainee: their own released ones), after
   a warm-up: wall time around the test client's ``get`` (in-process, so server time), CPU time of
   the thread, and SQL statements per request (``before_cursor_execute``). The sizes are seeded
   first and then timed interleaved, request by request, so a busy neighbour slows all alike;
   the SELECTs of one request are also explained and timed alone in each size;
4. prints a table (seed time, p50/p95/p99, queries per request, the p95 ratio largest/smallest
   size, the aim's verdict) and writes ``bench/results/dashboard-<db>.json``.

The aim (issue 4): p95 under 150 ms in each database size, and flat with size (the largest
size's p95 within 1.2x the smallest's). Missing it is reported, not an error; exit status 1 only
when a request failed or seeding went wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import math
import os
import pstats
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/

from _common import (  # shared with the other benchmarks
    FIRST,
    LAST,
    SITES,
    SPECIALTIES,
    _quietly,
    _self_cpu,
    _system_cpu,
    _tree_cpu,
    app_fingerprint,
    cores,
    log,
    make_app,
    migrate,
    percentile,
    run_each_database,
    wait_until_idle,
)
from _seed import (
    FreshDatabases,
    Loader,
    Pattern,
    database_size,
    make_pattern,
    score_pattern,
    spread,
)

AIM_P95_MS = 150.0
AIM_FLAT_RATIO = 1.2
INSTRUMENT = "clcf"
CYCLES_PER_TRAINEE = 3  # two released, then the latest one closed (awaiting the coach)
RATERS_PER_CYCLE = 15
TRAINEES_PER_COACH = 10
PASSWORD = "bench dashboard " + secrets.token_hex(8)  # hashed once; every bench user has it
EMAIL_DOMAIN = "bench.feedback360.invalid"
BENCH_COACH_EMAIL = f"bench.coach@{EMAIL_DOMAIN}"


# ---------------------------------------------------------------------------------------------
# Realistic answers: a pool of "answer patterns" (one cycle's responses each)

_POOLS: dict[tuple[Any, ...], list[list[Pattern]]] = {}


def pattern_pools(instrument: Any, rules: Any, args: argparse.Namespace) -> list[list[Pattern]]:
    """``args.patterns`` scored patterns per cycle number; the same (and computed once) for every
    database and size of a run."""
    key = (args.seed, args.patterns, instrument.sha256, rules)
    if key not in _POOLS:
        rng = random.Random(f"{args.seed}:patterns")
        pools = [[make_pattern(instrument, rng, c) for _ in range(args.patterns)]
                 for c in range(CYCLES_PER_TRAINEE)]
        for pattern in (p for pool in pools for p in pool):
            score_pattern(pattern, instrument, rules)
        _POOLS[key] = pools
    return _POOLS[key]


@dataclass
class Seeded:
    trainees: int
    coaches: int
    cycles: int
    patterns: int
    rows: dict[str, int]
    seconds: dict[str, float]
    sample: list[int]  # trainee ids the bench coach is assigned to, spread over the database
    coach_cycles: list[int]  # their cycles (closed and released): what the coach opens
    trainee_cycles: dict[str, list[int]]  # trainee email -> their released cycles
    answers_subset: str | None = None
    database_bytes: int | None = None


def seed(database_url: str, kind: str, *, trainees: int, args: argparse.Namespace) -> Seeded:
    from sqlalchemy import select

    from feedback360.extensions import db
    from feedback360.instruments import instrument_from_version, load_directory, snapshot
    from feedback360.models import (
        Answer,
        CoachAssignment,
        CoachNote,
        Cohort,
        Comment,
        CycleSummary,
        DevelopmentGoal,
        FeedbackCycle,
        Invitation,
        Response,
        User,
    )
    from feedback360.models.responses import new_comment_handle
    from feedback360.passwords import hash_password
    from feedback360.scoring import AnonymityRules

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    app = make_app(database_url)
    now = datetime.now(UTC)
    today = now.date()
    with app.app_context():
        source = load_directory(app.config["INSTRUMENTS_DIR"])[INSTRUMENT]
        version = snapshot(source)
        db.session.commit()
        version_id = version.id
        instrument = instrument_from_version(version)  # exactly what the app will score with
        rules = AnonymityRules.from_config(app.config)

        # The pattern pool: the same for every database size (same seed), so the cycles timed
        # in the small and the large database hold the same reports.
        clock = time.perf_counter()
        pools = pattern_pools(instrument, rules, args)
        seconds["patterns_scored"] = time.perf_counter() - clock
        log(f"{kind}/{trainees}: {CYCLES_PER_TRAINEE * args.patterns} answer patterns scored "
            f"with score_cycle in {seconds['patterns_scored']:.1f} s"
            + (" (computed earlier in this run)" if seconds["patterns_scored"] < 0.1 else ""))

        clock = time.perf_counter()
        password_hash = hash_password(PASSWORD)  # argon2id, production parameters
        sample_positions = spread(trainees, args.sample)
        sample_index = {position: i for i, position in enumerate(sample_positions)}

        def pattern_for(position: int, cycle_no: int) -> Pattern:
            # Sampled trainees (the ones timed) get the same patterns in every database size.
            key = (f"s{sample_index[position]}" if position in sample_index else f"t{position}")
            return pools[cycle_no][random.Random(f"{args.seed}:{key}:{cycle_no}")
                                   .randrange(args.patterns)]

        connection = db.session.connection()
        if kind == "sqlite":
            connection.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MiB, this load only
            connection.exec_driver_sql("PRAGMA synchronous = OFF")
        loader = Loader(kind, connection)
        cohorts = max(1, math.ceil(trainees / 50))
        loader.load(Cohort.__table__, ["name", "programme", "intake_year", "archived",
                                       "created_at"],
                    ((f"Bench STP {2020 + i % 6} {SPECIALTIES[i % len(SPECIALTIES)]} {i}",
                      "Scientist Training Programme", 2020 + i % 6, False, now)
                     for i in range(cohorts)))
        cohort_ids = list(connection.scalars(select(Cohort.id).order_by(Cohort.id)))
        coaches = max(1, math.ceil(trainees / TRAINEES_PER_COACH))
        user_columns = ["email", "name", "password_hash", "role", "active", "session_nonce",
                        "cohort_id", "specialty", "training_year", "site", "created_at",
                        "activated_at"]
        since = now - timedelta(days=800)

        def users() -> Iterator[tuple[Any, ...]]:
            for n in range(trainees):
                yield (f"trainee{n:05d}@{EMAIL_DOMAIN}",
                       f"{FIRST[n % len(FIRST)]} {LAST[(n * 7) % len(LAST)]}", password_hash,
                       "trainee", True, secrets.token_hex(16), cohort_ids[n % cohorts],
                       SPECIALTIES[n % len(SPECIALTIES)], 1 + n % 3, SITES[n % len(SITES)],
                       since, since)
            for n in range(coaches):
                yield (f"coach{n:05d}@{EMAIL_DOMAIN}",
                       f"Dr {FIRST[(n * 5) % len(FIRST)]} {LAST[(n * 3) % len(LAST)]}",
                       password_hash, "coach", True, secrets.token_hex(16), None, None, None,
                       SITES[n % len(SITES)], since, since)
            yield (BENCH_COACH_EMAIL, "Dr Bench Coach", password_hash, "coach", True,
                   secrets.token_hex(16), None, None, None, SITES[0], since, since)

        loader.load(User.__table__, user_columns, users())
        ids = dict(connection.execute(select(User.email, User.id)).all())
        trainee_ids = [ids[f"trainee{n:05d}@{EMAIL_DOMAIN}"] for n in range(trainees)]
        coach_ids = [ids[f"coach{n:05d}@{EMAIL_DOMAIN}"] for n in range(coaches)]
        bench_coach = ids[BENCH_COACH_EMAIL]
        coach_of = [coach_ids[n // TRAINEES_PER_COACH] for n in range(trainees)]
        loader.load(CoachAssignment.__table__, ["coach_id", "trainee_id", "created_at"],
                    [*((coach_of[n], trainee_ids[n], since) for n in range(trainees)),
                     *((bench_coach, trainee_ids[n], since) for n in sample_positions)])

        # Cycles: a year apart, the first two released by the coach, the latest closed.
        def cycle_rows() -> Iterator[tuple[Any, ...]]:
            for n, trainee_id in enumerate(trainee_ids):
                for c in range(CYCLES_PER_TRAINEE):
                    closes = today - timedelta(days=365 * (CYCLES_PER_TRAINEE - 1 - c) + 20
                                               + n % 60)
                    opens = closes - timedelta(days=28)
                    opened = datetime.combine(opens, datetime.min.time(), tzinfo=UTC)
                    closed = datetime.combine(closes, datetime.min.time(), tzinfo=UTC)
                    released = c < CYCLES_PER_TRAINEE - 1
                    yield (trainee_id, version_id, f"{instrument.title} {closes.year}",
                           "released" if released else "closed", opens, closes,
                           opened - timedelta(days=3), opened, closed,
                           closed + timedelta(days=9) if released else None,
                           coach_of[n] if released else None)

        loader.load(FeedbackCycle.__table__,
                    ["trainee_id", "instrument_version_id", "title", "status", "opens_on",
                     "closes_on", "created_at", "opened_at", "closed_at", "released_at",
                     "released_by_id"], cycle_rows())
        cycle_of: dict[tuple[int, date], int] = {
            (t, d): i for i, t, d in connection.execute(
                select(FeedbackCycle.id, FeedbackCycle.trainee_id, FeedbackCycle.closes_on))}
        cycles: list[tuple[int, int, int, date, Pattern]] = []  # (id, position, no, closes, p)
        by_trainee: dict[int, list[tuple[date, int]]] = {}
        for (trainee_id, closes), cycle_id in cycle_of.items():
            by_trainee.setdefault(trainee_id, []).append((closes, cycle_id))
        for n, trainee_id in enumerate(trainee_ids):
            for c, (closes, cycle_id) in enumerate(sorted(by_trainee[trainee_id])):
                cycles.append((cycle_id, n, c, closes, pattern_for(n, c)))
        seconds["users_and_cycles"] = time.perf_counter() - clock

        clock = time.perf_counter()

        def invitation_rows() -> Iterator[tuple[Any, ...]]:
            for cycle_id, n, _c, closes, pattern in cycles:
                for j, group in enumerate(pattern.groups):
                    first, last = FIRST[(n + j * 5) % len(FIRST)], LAST[(n * 3 + j) % len(LAST)]
                    email = f"{first}.{last}.{j}@nhs.example".lower()  # canonical already
                    yield (cycle_id, email, email,
                           f"{first} {last}", group, "completed", secrets.token_hex(16), 1,
                           j % 3, datetime.combine(closes - timedelta(days=27),
                                                   datetime.min.time(), tzinfo=UTC),
                           closes - timedelta(days=(n + j) % 25))

        loader.load(Invitation.__table__,
                    ["cycle_id", "rater_email", "rater_identity", "rater_name", "rater_group",
                     "status", "token_nonce", "sent_count", "reminded_count", "last_sent_at",
                     "completed_on"], invitation_rows())
        seconds["invitations"] = time.perf_counter() - clock

        # Responses, answers, comments: random UUIDs as the app makes them, written in key
        # order (the tables are clustered on it), which is what a bulk load should do.
        clock = time.perf_counter()
        answer_cycles = cycles
        subset_note = None
        if args.answer_trainees and args.answer_trainees < trainees:
            keep = set(spread(trainees, args.answer_trainees)) | set(sample_positions)
            answer_cycles = [c for c in cycles if c[1] in keep]
            subset_note = (f"answers, responses and comments stored for {len(keep)} of "
                           f"{trainees} trainees ({len(answer_cycles)} of {len(cycles)} cycles,"
                           f" always including the timed ones); every cycle has its summary")
            log(f"{kind}/{trainees}: {subset_note}")
        responses = sorted((uuid.uuid4(), i, r) for i in range(len(answer_cycles))
                           for r in range(RATERS_PER_CYCLE + 1))
        loader.load(Response.__table__, ["id", "cycle_id", "rater_group", "is_self"],
                    ((rid, answer_cycles[i][0],
                      None if r == RATERS_PER_CYCLE else answer_cycles[i][4].groups[r],
                      r == RATERS_PER_CYCLE) for rid, i, r in responses))
        seconds["responses"] = time.perf_counter() - clock
        clock = time.perf_counter()
        items = sorted(instrument.item_keys)
        order = {key: position for position, key in enumerate(instrument.item_keys)}

        def answer_rows() -> Iterator[tuple[Any, ...]]:
            for rid, i, r in responses:
                row = answer_cycles[i][4].answers[r]
                for item in items:
                    yield rid, item, row[order[item]]

        total = len(responses) * len(items)
        log(f"{kind}/{trainees}: writing {len(responses):,} responses' {total:,} answers")
        loader.load(Answer.__table__, ["response_id", "item_key", "score"], answer_rows())
        seconds["answers"] = time.perf_counter() - clock
        clock = time.perf_counter()

        def comment_rows() -> Iterator[tuple[Any, ...]]:
            for rid, i, r in responses:
                for index, prompt, body in answer_cycles[i][4].comments:
                    if index == r:
                        yield rid, prompt, body, new_comment_handle()

        # Sorted by (response, prompt): "development" < "strengths", as the primary key is.
        loader.load(Comment.__table__, ["response_id", "prompt_key", "text", "handle"],
                    sorted(comment_rows(), key=lambda row: (row[0], row[1])))
        seconds["comments"] = time.perf_counter() - clock

        clock = time.perf_counter()
        summaries = CycleSummary.__table__
        if kind == "sqlite":  # the JSON is already text: write it as such, not dumped again
            from sqlalchemy import Boolean, Integer, Text, column, table

            from feedback360.models import UTCDateTime
            summaries = table("cycle_summaries", column("cycle_id", Integer),
                              column("report", Text), column("enough_responses", Boolean),
                              column("response_count", Integer),
                              column("computed_at", UTCDateTime()))
        loader.load(summaries, ["cycle_id", "report", "enough_responses", "response_count",
                                "computed_at"],
                    ((cycle_id, p.report_json, p.enough, p.responses_counted,
                      datetime.combine(closes, datetime.min.time(), tzinfo=UTC)
                      + timedelta(minutes=5))
                     for cycle_id, _n, _c, closes, p in cycles))
        seconds["summaries"] = time.perf_counter() - clock

        clock = time.perf_counter()
        note_rng = random.Random(f"{args.seed}:notes")
        loader.load(CoachNote.__table__, ["cycle_id", "author_id", "text", "created_at"],
                    ((cycle_id, coach_of[n], "Talked through the report: agreed to focus on "
                      "the lowest domain and to look for a leadership opportunity this year.",
                      datetime.combine(closes, datetime.min.time(), tzinfo=UTC)
                      + timedelta(days=8))
                     for cycle_id, n, _c, closes, _p in cycles if note_rng.random() < 0.5))
        loader.load(DevelopmentGoal.__table__,
                    ["cycle_id", "author_id", "domain_key", "element_key", "action", "support",
                     "due_on", "status", "created_at", "updated_at"],
                    ((cycle_id, trainee_ids[n], instrument.domains[(n + g) % 5].key, None,
                      "Lead a quality-improvement project on sample turnaround times.",
                      "Shadow the service manager at the monthly performance meeting.",
                      closes + timedelta(days=180), ("in_progress", "not_started")[g], now, now)
                     for cycle_id, n, c, closes, _p in cycles if c < CYCLES_PER_TRAINEE - 1
                     for g in range(2)))
        seconds["notes_and_goals"] = time.perf_counter() - clock
        clock = time.perf_counter()
        db.session.commit()
        if kind == "postgresql":  # what autovacuum would have done by now
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE")
        seconds["commit_and_analyze"] = time.perf_counter() - clock

        sample = [trainee_ids[n] for n in sample_positions]
        coach_cycles = [c[0] for c in cycles if c[1] in sample_index]
        trainee_cycles = {
            f"trainee{n:05d}@{EMAIL_DOMAIN}": [c[0] for c in cycles
                                               if c[1] == n and c[2] < CYCLES_PER_TRAINEE - 1]
            for n in sample_positions[:args.trainee_clients]}
        size = database_size(kind, database_url)
        db.session.remove()
        db.engine.dispose()
    seconds["total"] = time.perf_counter() - started
    return Seeded(trainees, coaches + 1, len(cycles), sum(len(p) for p in pools),
                  dict(loader.rows), {k: round(v, 1) for k, v in seconds.items()}, sample,
                  coach_cycles, trainee_cycles, subset_note, size)


# ---------------------------------------------------------------------------------------------
# Timing the dashboard in-process


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class QueryCounter:
    """``before_cursor_execute``: counts statements; while ``statements`` is a list, keeps them
    (with their parameters, for ``explain``)."""

    def __init__(self) -> None:
        self.count = 0
        self.statements: list[tuple[str, Any]] | None = None

    def __call__(self, _conn: Any, _cursor: Any, statement: str, parameters: Any,
                 *_args: Any) -> None:
        self.count += 1
        if self.statements is not None:
            self.statements.append((statement, parameters))


def short(statement: str) -> str:
    """One line, the selected columns elided: ``SELECT ... FROM t WHERE ...``."""
    text = " ".join(statement.split())
    text = re.sub(r"^SELECT (?!EXISTS)(.{60,}?) FROM ", "SELECT ... FROM ", text)
    return text[:300]


BIG_TABLE_ROWS = 10_000
STATEMENT_REPEATS = 21


def explain(kind: str, engine: Any, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The plan and the median time of every SELECT of one request, with its real parameters:
    EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL. ``full_scan`` lists
    the tables of more than BIG_TABLE_ROWS rows read whole (a small table is rightly scanned
    rather than searched); comparing ``median_ms`` across sizes finds the statements that grow.
    """
    plans = []
    raw = engine.raw_connection()
    sizes: dict[str, float] = {}
    try:
        cursor = raw.cursor()

        def rows_in(table: str) -> float:
            if table not in sizes:
                if kind == "sqlite":
                    cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (from a plan)
                else:
                    cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", (table,))
                found = cursor.fetchone()
                sizes[table] = float(found[0]) if found else 0.0
            return sizes[table]

        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            if kind == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                lines = [row[3] for row in cursor.fetchall()]
                scanned = [m.group(1) for line in lines
                           if "USING" not in line and "CONSTANT ROW" not in line
                           for m in [re.match(r"SCAN (\w+)", line)] if m]
            else:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                lines = [row[0] for row in cursor.fetchall()]
                scanned = [m.group(1) for line in lines
                           for m in [re.search(r"Seq Scan on (\w+)", line)] if m]
            timings = []
            for _ in range(STATEMENT_REPEATS):  # the statement alone, as the app sends it
                started = time.perf_counter()
                cursor.execute(statement, parameters)
                cursor.fetchall()
                timings.append(time.perf_counter() - started)
            plans.append({"statement": short(statement), "plan": lines,
                          "median_ms": round(sorted(timings)[len(timings) // 2] * 1000, 3),
                          "full_scan": [f"{table} ({rows_in(table):,.0f} rows)"
                                        for table in scanned
                                        if rows_in(table) > BIG_TABLE_ROWS]})
        raw.rollback()
    finally:
        raw.close()
    return plans


def sign_in(app: Any, email: str) -> Any:
    """A test client signed in through the real form (GET for the CSRF token, then POST)."""
    client = app.test_client()
    page = client.get("/auth/login")
    match = CSRF_RE.search(page.get_data(as_text=True))
    if page.status_code != 200 or not match:
        raise RuntimeError(f"sign-in page: HTTP {page.status_code}, no CSRF token")
    # The test client speaks PREFERRED_URL_SCHEME (https in production), and Flask-WTF's
    # strict check then wants a same-origin Referer, as a browser sends.
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD,
                                                "csrf_token": match.group(1) or match.group(2)},
                           headers={"Referer": page.request.url})
    if response.status_code != 302 or "/auth/login" in response.headers.get("Location", ""):
        raise RuntimeError(f"sign-in as {email} failed: HTTP {response.status_code}")
    return client


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    gc: list[float] = field(default_factory=list)  # seconds in Python's cyclic GC


class GcClock:
    """Time spent in Python's garbage collector (``gc.callbacks``), and full collections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.full += info.get("generation") == 2


GC_CLOCK = GcClock()


def summary(values: list[float]) -> dict[str, Any]:
    values = sorted(values)
    ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
    return {"count": len(values), "p50_ms": ms(percentile(values, 0.50)),
            "p95_ms": ms(percentile(values, 0.95)), "p99_ms": ms(percentile(values, 0.99)),
            "max_ms": ms(values[-1] if values else None),
            "mean_ms": ms(sum(values) / len(values) if values else None)}


def plan_requests(seeded: Seeded, count: int, rng: random.Random) -> list[tuple[str, int]]:
    """(viewer, cycle id): half the requests by the coach, half by one of the trainees."""
    trainees = sorted(seeded.trainee_cycles)
    plan = []
    for _ in range(count):
        if rng.random() < 0.5 or not trainees:
            plan.append(("coach", rng.choice(seeded.coach_cycles)))
        else:
            email = rng.choice(trainees)
            plan.append((email, rng.choice(seeded.trainee_cycles[email])))
    return plan


class Target:
    """One seeded database served by its own in-process app, with its signed-in clients."""

    def __init__(self, size: int, database_url: str, seeded: Seeded, args: argparse.Namespace):
        from sqlalchemy import event

        from feedback360.extensions import db

        self.size, self.seeded = size, seeded
        self.kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
        self.app = make_app(database_url)
        self.counter = QueryCounter()
        with self.app.app_context():
            event.listen(db.engine, "before_cursor_execute", self.counter)
        self.clients = {"coach": sign_in(self.app, BENCH_COACH_EMAIL)}
        for email in seeded.trainee_cycles:
            self.clients[email] = sign_in(self.app, email)
        # The same plan (seed) in every size: the sampled trainees hold the same patterns.
        rng = random.Random(f"{args.seed}:requests")
        self.warmup = plan_requests(seeded, args.warmup, rng)
        self.measured = plan_requests(seeded, args.requests, rng)
        self.errors: list[str] = []
        self.timings = {key: Timings() for key in ("all", "coach", "trainee", "first_view",
                                                   "repeat_view")}
        self.seen: set[int] = set()  # cycles this process has shown (the app caches per process)

    def get(self, viewer: str, cycle_id: int) -> tuple[float, float, int, int]:
        client = self.clients["coach" if viewer == "coach" else viewer]
        self.counter.count = 0
        gc0 = GC_CLOCK.seconds
        cpu0 = time.thread_time()
        wall0 = time.perf_counter()
        response = client.get(f"/cycles/{cycle_id}/report")
        wall = time.perf_counter() - wall0
        cpu = time.thread_time() - cpu0
        self.last_gc = GC_CLOCK.seconds - gc0
        self.seen.add(cycle_id)
        body = response.get_data()
        if response.status_code != 200 or b'id="summary"' not in body or b"<h1>" not in body:
            self.errors.append(f"{viewer} /cycles/{cycle_id}/report: HTTP "
                               f"{response.status_code}")
        return wall, cpu, self.counter.count, len(body)

    def warm_up(self) -> None:
        for viewer, cycle_id in self.warmup:
            self.get(viewer, cycle_id)
        # The statements of two typical requests: the coach opening a trainee's latest cycle
        # (so with a previous one to compare), a trainee opening a released report.
        self.counter.statements = []
        self.get("coach", self.seeded.coach_cycles[min(2, len(self.seeded.coach_cycles) - 1)])
        coach, self.counter.statements = self.counter.statements, []
        self.get(*next(((v, c) for v, c in self.measured if v != "coach"),
                       ("coach", self.seeded.coach_cycles[0])))
        trainee, self.counter.statements = self.counter.statements, None
        self.statements_coach = [short(s) for s, _ in coach]
        self.statements_trainee = [short(s) for s, _ in trainee]
        from feedback360.extensions import db

        with self.app.app_context():
            self.plans = explain(self.kind, db.engine, coach)

    def measure(self, index: int) -> None:
        viewer, cycle_id = self.measured[index]
        first = cycle_id not in self.seen
        wall, cpu, queries, size = self.get(viewer, cycle_id)
        for key in ("all", "coach" if viewer == "coach" else "trainee",
                    "first_view" if first else "repeat_view"):
            self.timings[key].wall.append(wall)
            self.timings[key].cpu.append(cpu)
            self.timings[key].queries.append(queries)
            self.timings[key].bytes.append(size)
            self.timings[key].gc.append(self.last_gc)

    def result(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "requests": len(self.measured), "warmup_requests": len(self.warmup),
            "errors": len(self.errors), "error_samples": self.errors[:5],
            "statements_coach_request": self.statements_coach,
            "statements_trainee_request": self.statements_trainee,
            "plans_coach_request": self.plans,
            "full_scans": sum(len(plan["full_scan"]) for plan in self.plans)}
        for key, t in self.timings.items():
            if t.wall:
                result[key] = {
                    "wall": summary(t.wall), "cpu": summary(t.cpu),
                    "queries_per_request": {"min": min(t.queries), "max": max(t.queries),
                                            "mean": round(sum(t.queries) / len(t.queries), 2)},
                    "html_kb_mean": round(sum(t.bytes) / len(t.bytes) / 1024, 1),
                    "gc_ms": {"mean": round(sum(t.gc) * 1000 / len(t.gc), 2),
                              "max": round(max(t.gc) * 1000, 1),
                              "requests_with_gc_over_10ms": sum(g > 0.010 for g in t.gc)}}
        return result

    def close(self) -> None:
        from feedback360.extensions import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def time_dashboards(targets: list[Target], args: argparse.Namespace,
                    db_pid: int | None) -> dict[str, Any]:
    """Time every size's requests interleaved (round-robin, the order rotating each round), so
    that what other processes do to the machine falls on every size alike."""
    for target in targets:
        target.warm_up()
    # --profile: the first N timed requests, profiled before the window so that first views
    # (charts not yet cached) are in it as in the timing. The window then meets more cycles
    # already shown: a profile run's timings are not comparable with a plain run's.
    profiles = {target.size: profile_requests(target.get, target.measured[:args.profile],
                                              args.profile_top)
                for target in targets} if args.profile else {}
    gc.collect()
    live_objects = len(gc.get_objects())
    full0, gc_seconds0 = GC_CLOCK.full, GC_CLOCK.seconds
    gc.callbacks.append(GC_CLOCK)
    load_before = os.getloadavg()
    busy0, total0 = _system_cpu()
    self0, db0, window0 = _self_cpu(), _tree_cpu(db_pid), time.perf_counter()
    for index in range(args.requests):
        shift = index % len(targets)
        for target in targets[shift:] + targets[:shift]:
            target.measure(index)
    window = time.perf_counter() - window0
    gc.callbacks.remove(GC_CLOCK)
    busy1, total1 = _system_cpu()
    own = (_self_cpu() - self0) / window
    db_seconds = _tree_cpu(db_pid) - db0 if db_pid else 0.0
    machine = (busy1 - busy0) / max(total1 - total0, 1e-9) * cores()
    requests = args.requests * len(targets)
    window_info = {
        "requests": requests, "window_seconds": round(window, 2),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "cpu_cores": {"benchmark_process": round(own, 2),
                      "postgresql": round(db_seconds / window, 2),
                      "machine_busy": round(machine, 2),
                      "other_processes": round(max(machine - own - db_seconds / window, 0.0),
                                               2)},
        "postgresql_cpu_ms_per_request": round(db_seconds * 1000 / requests, 2)
        if db_pid else None,
        "python_gc": {"live_objects_at_start": live_objects,
                      "full_collections": GC_CLOCK.full - full0,
                      "gc_seconds": round(GC_CLOCK.seconds - gc_seconds0, 3)},
    }
    window_info["profiles"] = profiles
    return window_info


# Where the time of one request goes: cumulative time of these functions under cProfile.
PROFILE_FUNCTIONS = {
    "dashboard view (reports.dashboard)": ("feedback360/views/reports.py", "dashboard"),
    "report_for (this and the previous cycle)": ("feedback360/services/summaries.py", "report_for"),
    "CycleReport.from_dict": ("feedback360/scoring/report.py", "from_dict"),
    "typing.get_type_hints (inside from_dict)": ("/typing.py", "get_type_hints"),
    "summary JSON decode (json.loads)": ("json/__init__.py", "loads"),
    "instrument_for": ("feedback360/services/instrument_cache.py", "instrument_for"),
    "comments_for": ("feedback360/services/summaries.py", "comments_for"),
    "previous_report": ("feedback360/services/summaries.py", "previous_report"),
    "charts_for (the view's per-process cache of charts)": ("feedback360/views/reports.py",
                                                            "charts_for"),
    "dashboard_charts": ("feedback360/charts", "dashboard_charts"),
    "plotly: go.Figure + pio.to_json": ("feedback360/charts", "_figure"),
    "render_template (the page, 180 KB of HTML)": ("flask/templating.py", "render_template"),
    "SQL: cursor.execute": ("sqlalchemy/engine/default.py", "do_execute"),
}


def profile_requests(get: Callable[..., Any], plan: list[tuple[str, int]],
                     top: int) -> dict[str, Any]:
    profiler = cProfile.Profile()
    profiler.enable()
    for viewer, cycle_id in plan:
        get(viewer, cycle_id)
    profiler.disable()
    stats = pstats.Stats(profiler)
    per_request = {}
    for label, (filename, function) in PROFILE_FUNCTIONS.items():
        cumulative = sum(value[3] for (path, _line, name), value in stats.stats.items()  # type: ignore[attr-defined]
                         if name == function and filename in path)
        per_request[label] = round(cumulative * 1000 / len(plan), 1)
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(top)
    out.write("\n")
    stats.sort_stats("tottime").print_stats(top)
    return {"requests": len(plan), "cumulative_ms_per_request": per_request,
            "text": out.getvalue()}


# ---------------------------------------------------------------------------------------------
# One database, every size


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"feedback360-dashboard-{kind}-"))
    stack = contextlib.ExitStack()
    runs: list[dict[str, Any]] = []
    targets: list[Target] = []
    window: dict[str, Any] = {}
    try:
        databases = FreshDatabases(kind, workdir, stack, keep=args.keep)
        db_pid = databases.db_pid
        for size in args.sizes:
            name = (f"dashboard-{size}" if kind == "sqlite"
                    else f"feedback360_dashboard_{size}")
            database_url, detail = databases.create(name)
            log(f"{kind}/{size}: {detail}")
            migrate(database_url)
            seeded = seed(database_url, kind, trainees=size, args=args)
            log(f"{kind}/{size}: seeded in {seeded.seconds['total']:.1f} s: "
                + ", ".join(f"{k} {v:,}" for k, v in seeded.rows.items()))
            runs.append({"size": size, "database_detail": detail,
                         "seed": {"trainees": seeded.trainees, "coaches": seeded.coaches,
                                  "cycles": seeded.cycles, "answer_patterns": seeded.patterns,
                                  "rows": seeded.rows, "seconds": seeded.seconds,
                                  "answers_subset": seeded.answers_subset,
                                  "database_mb": round(seeded.database_bytes / 2**20, 1)
                                  if seeded.database_bytes else None,
                                  "timed_trainees": len(seeded.sample),
                                  "timed_coach_cycles": len(seeded.coach_cycles),
                                  "timed_trainee_clients": len(seeded.trainee_cycles)}})
            targets.append(Target(size, database_url, seeded, args))
        busy_before = wait_until_idle(args.wait_idle) if args.wait_idle else None
        log(f"{kind}: timing {args.requests} requests per size, sizes interleaved, after "
            f"{args.warmup} warm-up requests each")
        window = time_dashboards(targets, args, db_pid)
        window["other_load_before_start_cores"] = busy_before
        for run, target in zip(runs, targets, strict=True):
            run.update(target.result())
            if window.get("profiles"):
                run["profile"] = window["profiles"].pop(target.size)
            log(f"{kind}/{target.size}: p50 {run['all']['wall']['p50_ms']} ms, p95 "
                f"{run['all']['wall']['p95_ms']} ms, "
                f"{run['all']['queries_per_request']['mean']} queries/request")
        window.pop("profiles", None)
    finally:
        for target in targets:
            _quietly(target.close)
        stack.close()
        if args.keep:
            log(f"{kind}: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return verdict({"benchmark": "dashboard", "database": kind,
                    "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": {"cores": cores(), "python": sys.version.split()[0]},
                    "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
                    "aim": {"p95_ms": AIM_P95_MS, "flat_ratio": AIM_FLAT_RATIO},
                    "app_tree": app_fingerprint(FINGERPRINTED), "window": window, "runs": runs})


# The files whose hashes the results record (the app is edited while benchmarks run).
FINGERPRINTED = ("feedback360/views/reports.py", "feedback360/services/summaries.py",
                 "feedback360/scoring/report.py", "feedback360/charts", "feedback360/charts.py",
                 "templates/reports", "templates/coach/_review_panel.html",
                 "templates/plan/_plan_section.html")


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    runs = result["runs"]
    p95 = [run["all"]["wall"]["p95_ms"] for run in runs]
    ratio = round(p95[-1] / p95[0], 2) if len(p95) > 1 and p95[0] else None
    cpu95 = [run["all"]["cpu"]["p95_ms"] for run in runs]
    cpu_ratio = round(cpu95[-1] / cpu95[0], 2) if len(cpu95) > 1 and cpu95[0] else None
    queries = [(run["all"]["queries_per_request"]["min"], run["all"]["queries_per_request"]["max"])
               for run in runs]
    growing = []
    if len(runs) > 1:
        small, large = runs[0]["plans_coach_request"], runs[-1]["plans_coach_request"]
        for before, after in zip(small, large, strict=False):
            if (before["statement"] == after["statement"] and after["median_ms"] > 0.2
                    and after["median_ms"] > 3 * before["median_ms"]):
                growing.append({"statement": after["statement"],
                                "median_ms": [before["median_ms"], after["median_ms"]],
                                "plan_largest": after["plan"]})
    result["statements_growing_with_size"] = growing
    fast = all(v is not None and v < AIM_P95_MS for v in p95)
    flat = ratio is None or ratio <= AIM_FLAT_RATIO
    result["aim"].update({
        "p95_ms_by_size": dict(zip([run["size"] for run in runs], p95, strict=True)),
        "p95_ratio_largest_to_smallest": ratio,
        "cpu_p95_ratio_largest_to_smallest": cpu_ratio,
        "queries_constant_across_sizes": len({q for q in queries}) == 1,
        "p95_met": fast, "flat_met": flat, "met": fast and flat})
    return result


# ---------------------------------------------------------------------------------------------
# Output


def print_report(result: dict[str, Any]) -> None:
    aim, window = result["aim"], result["window"]
    lines = ["", f"== bench/dashboard: {result['database']} "
             f"({result['runs'][0]['database_detail'] if result['runs'] else ''})",
             "   GET /cycles/<id>/report in-process (Flask test client, production settings), "
             "sizes interleaved; wall = server time, cpu = CPU time of the serving thread", "",
             f"   {'db':<11}{'trainees':>9}{'seed s':>8}{'DB MB':>8}{'p50':>8}{'p95':>8}"
             f"{'p99':>8}{'cpu p50':>9}{'cpu p95':>9}{'queries':>9}{'p95 ratio':>11}"
             f"{'aim':>8}"]
    first = result["runs"][0]["all"]["wall"]["p95_ms"] if result["runs"] else None
    for run in result["runs"]:
        wall, cpu, q = run["all"]["wall"], run["all"]["cpu"], run["all"]["queries_per_request"]
        queries = f"{q['min']}" if q["min"] == q["max"] else f"{q['min']}-{q['max']}"
        ratio = f"{wall['p95_ms'] / first:.2f}" if first else "-"
        ok = wall["p95_ms"] < AIM_P95_MS and (not first or wall["p95_ms"] / first
                                               <= AIM_FLAT_RATIO)
        lines.append(
            f"   {result['database']:<11}{run['size']:>9,}{run['seed']['seconds']['total']:>8.0f}"
            f"{run['seed']['database_mb'] or 0:>8.0f}{wall['p50_ms']:>8}{wall['p95_ms']:>8}"
            f"{wall['p99_ms']:>8}{cpu['p50_ms']:>9}{cpu['p95_ms']:>9}{queries:>9}{ratio:>11}"
            f"{'met' if ok else 'MISSED':>8}")
    cpu_cores = window["cpu_cores"]
    lines += [
        "   (times in ms; queries = SQL statements per request; p95 ratio = this size's p95 / "
        "the smallest size's)",
        f"   machine during the window ({window['window_seconds']} s, {window['requests']} "
        f"requests): load average {window['load_average_before'][0]} before, "
        f"{window['load_average_after'][0]} after; this process {cpu_cores['benchmark_process']}"
        f" cores, PostgreSQL {cpu_cores['postgresql']}, other processes "
        f"{cpu_cores['other_processes']} of {result['machine']['cores']}"]
    gc_info = window["python_gc"]
    lines.append(f"   Python GC during the window: {gc_info['gc_seconds']} s, "
                 f"{gc_info['full_collections']} full collections "
                 f"({gc_info['live_objects_at_start']:,} live objects)")
    if window.get("postgresql_cpu_ms_per_request") is not None:
        lines.append(f"   PostgreSQL CPU per request: {window['postgresql_cpu_ms_per_request']} ms")
    for run in result["runs"]:
        by = "; ".join(f"{key} p50/p95 {run[key]['wall']['p50_ms']}/{run[key]['wall']['p95_ms']}"
                       f" ms (cpu {run[key]['cpu']['p50_ms']}/{run[key]['cpu']['p95_ms']}), "
                       f"{run[key]['queries_per_request']['mean']} queries, "
                       f"{run[key]['html_kb_mean']} KB"
                       for key in ("coach", "trainee", "first_view", "repeat_view") if key in run)
        rows = run["seed"]["rows"]
        lines.append(f"   {run['size']:>6,} trainees: " + by.replace("; ", "\n" + " " * 21))
        lines.append(f"          seeded {rows.get('feedback_cycles', 0):,} cycles, "
                     f"{rows.get('responses', 0):,} responses, {rows.get('answers', 0):,} "
                     f"answers, {rows.get('comments', 0):,} comments, "
                     f"{rows.get('cycle_summaries', 0):,} summaries in "
                     f"{run['seed']['seconds']['total']:.1f} s ("
                     + ", ".join(f"{k} {v}" for k, v in run["seed"]["seconds"].items()
                                 if k != "total") + ")")
        if run["seed"]["answers_subset"]:
            lines.append(f"          NOTE: {run['seed']['answers_subset']}")
        scans = [f"{scan} <- {plan['statement'][:90]}" for plan in run["plans_coach_request"]
                 for scan in plan["full_scan"]]
        selects = len(run["plans_coach_request"])
        total = sum(plan["median_ms"] for plan in run["plans_coach_request"])
        lines.append(f"          a coach's request: {selects} SELECTs, {total:.2f} ms run alone; "
                     + (f"no table over {BIG_TABLE_ROWS:,} rows read whole" if not scans
                        else "FULL SCANS: " + " | ".join(scans)))
        if run["errors"]:
            lines.append(f"          ERRORS: {run['errors']}: {run['error_samples']}")
        if run.get("profile"):
            lines.append("          profiled (cumulative ms per request, cProfile-inflated): "
                         + "; ".join(f"{k} {v}" for k, v in
                                     run["profile"]["cumulative_ms_per_request"].items()))
    lines += [
        f"   p95 ratio largest/smallest: {aim['p95_ratio_largest_to_smallest']} (CPU p95 "
        f"ratio {aim['cpu_p95_ratio_largest_to_smallest']}); queries per request the same in "
        f"every size: {aim['queries_constant_across_sizes']}",
        f"   aim (p95 < {AIM_P95_MS:g} ms in every size, ratio <= {AIM_FLAT_RATIO}): "
        f"{'MET' if aim['met'] else 'MISSED'} (p95 {'met' if aim['p95_met'] else 'missed'}, "
        f"flatness {'met' if aim['flat_met'] else 'missed'})",
    ]
    sizes = f"{result['runs'][0]['size']:,} -> {result['runs'][-1]['size']:,} trainees"
    for grow in result.get("statements_growing_with_size", []):
        lines.append(f"   GROWS WITH SIZE ({sizes}): {grow['median_ms'][0]} -> "
                     f"{grow['median_ms'][1]} ms: {grow['statement']}")
        lines.append(f"      plan: {' / '.join(grow['plan_largest'])[:200]}")
    if cpu_cores["other_processes"] > 0.25:
        lines.append(f"   WARNING: other processes used {cpu_cores['other_processes']} of the "
                     f"{result['machine']['cores']} cores during the window: wall times include "
                     "waiting for the CPU; the cpu columns are the steadier measure")
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="50,5000",
                        help="database sizes in trainees, comma-separated (default 50,5000)")
    parser.add_argument("--requests", type=int, default=300,
                        help="timed requests per size (default 300)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="untimed requests per size first (default 20)")
    parser.add_argument("--patterns", type=int, default=120,
                        help="answer patterns scored per cycle number (default 120)")
    parser.add_argument("--sample", type=int, default=50,
                        help="trainees (spread over the database) the timed coach is assigned "
                             "to; their cycles are the ones opened (default 50)")
    parser.add_argument("--trainee-clients", type=int, default=50,
                        help="of those, trainees signed in to read their own released reports "
                             "(default 50)")
    parser.add_argument("--answer-trainees", type=int, default=0,
                        help="store answers/responses/comments for only this many trainees "
                             "(spread, always including the timed ones); 0 = all (default)")
    parser.add_argument("--seed", type=int, default=360, help="random seed")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                        help="before timing, wait up to this long for other processes to "
                             "leave the CPU alone")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="cProfile the first N timed requests (before the window); print "
                             "where the time goes (results in dashboard-<db>-profile.json)")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--keep", action="store_true",
                        help="keep the SQLite files and the temporary directory (and the "
                             "databases, in a PostgreSQL cluster you started)")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated numbers of trainees, e.g. 50,5000")
    if not args.sizes or min(args.sizes) < 1 or args.requests < 1 or args.patterns < 1:
        parser.error("--sizes, --requests and --patterns must be positive")

    def report(kind: str, result: dict[str, Any]) -> bool:
        print_report(result)
        for run in result["runs"]:
            if run.get("profile"):
                print(f"\n== profile, {kind}, {run['size']} trainees "
                      f"({run['profile']['requests']} requests)\n{run['profile']['text']}")
        return any(run["errors"] for run in result["runs"])

    return run_each_database(
        args.db, lambda kind: bench_database(kind, args),
        lambda kind: f"dashboard-{kind}{'-profile' if args.profile else ''}.json", report)


if __name__ == "__main__":
    sys.exit(main())
