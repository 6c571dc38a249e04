#!/usr/bin/env python3
"""Benchmark ``bench/cohort``: the programme lead's cohort report over a whole intake, against
the floor a naive report cannot beat (issue 5, point 6).

For each database (SQLite file, throwaway PostgreSQL cluster) this script

1. creates a fresh database and migrates it (``flask --app wsgi db upgrade``);
2. seeds it in bulk (``executemany`` in chunks on SQLite, ``COPY`` on PostgreSQL): one programme,
   its trainees (5,000 by default, in one cohort unless ``--cohorts``) with specialty, training
   year and site, one cohort launch per cohort on the ``clcf-enhanced`` instrument, and for each
   trainee one closed or released cycle with 15 completed invitations (plus some declined and
   some never answered), 15 rater responses and a self-assessment answering every item ("not
   observed" as NULL), raters' comments, and the cycle's ``CycleSummary`` and ``CycleScore``
   rows exactly as ``services.summaries.store_summary`` writes them: every cycle copies one of a
   few hundred answer patterns scored with the app's own ``score_cycle`` and ``score_rows``;
   then, as ``flask close-due-cycles`` does once a launch has closed, stores every cohort's
   analysis (``services.cohort_analyses.refresh``, timed);
3. times, each run in a fresh Python process (imports, app and database connection set up
   first, untimed): the floor, a plain SQL ``GROUP BY`` of every answer by rater group and item,
   all rows fetched; the cohort report, ``services.cohort_reports.cohort_report`` for the whole
   cohort (and once with a specialty and training-year filter) in an app context with
   production settings, reading the stored analysis; the same with the stored analyses deleted
   first (``report_rebuilt``: what the first report after a change pays); and the exports as
   ``views.cohort_reports.download`` makes them (the aggregates as CSV and XLSX, the item-level
   file of the launch as CSV and XLSX). Runs of the
   operations are interleaved, so a busy neighbour slows all alike; the floor and the report
   run ``--repeat`` times, the others at most three. Each process times its first call
   (nothing cached in the process; for the floor and the report also a second, warm one), with
   the CPU of the process and of PostgreSQL's processes; peak memory is the process's peak
   resident set during the first call (``VmHWM``, reset just before it), and a separate
   process per operation measures the peak of Python allocations with ``tracemalloc``;
4. prints the median times, the report's time as a ratio to the floor's and the peak memory,
   with the aim's verdict, and writes ``bench/results/cohort-<db>.json``.

The aim (issue 5): the full cohort report in at most 0.5x the floor's time, peak memory under
500 MB. Missing it is reported, not an error; exit status 1 when an operation failed or a check
of the seeded data failed, 2 when the cohort report does not exist (``--floor-only`` times the
floor alone).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import itertools
import json
import math
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/

from _common import (  # shared with the other benchmarks
    FIRST,
    LAST,
    ROOT,
    SITES,
    SPECIALTIES,
    _system_cpu,
    _tree_cpu,
    app_fingerprint,
    cores,
    log,
    make_app,
    migrate,
    run_each_database,
    wait_until_idle,
)
from _seed import FreshDatabases, Loader, Pattern, database_size, make_pattern, score_pattern

AIM_RATIO = 0.5
AIM_PEAK_MB = 500.0
INSTRUMENT = "clcf-enhanced"
PROGRAMME = "Scientist Training Programme"
TRAINING_YEARS = 3  # the STP is a three-year programme
TRAINEES_PER_COACH = 25
EMAIL_DOMAIN = "bench.feedback360.invalid"
WORKER_TIMEOUT = 900
FLOOR_SQL = ("SELECT r.rater_group, a.item_key, avg(a.score), count(a.score) FROM answers a "
             "JOIN responses r ON r.id = a.response_id GROUP BY r.rater_group, a.item_key")
REPORT_MODULE = "feedback360.services.cohort_reports"
ANALYSES_MODULE = "feedback360.services.cohort_analyses"

# Trainees are not spread evenly: some specialties and sites take many more.
SPECIALTY_WEIGHTS = (18, 12, 14, 9, 10, 8, 7, 9, 8, 5)
SITE_WEIGHTS = (24, 21, 11, 17, 15, 12)
# Raters asked beyond the fifteen who answered: how many declined, how many never answered.
DECLINED = ((0, 0.55), (1, 0.3), (2, 0.15))
UNANSWERED = ((0, 0.25), (1, 0.3), (2, 0.25), (3, 0.12), (4, 0.08))
DECLINE_REASONS = (None, None, "I have not worked with them enough to comment.",
                   "On long-term leave until the end of the month.")
RELEASED_SHARE = 0.7  # the rest are closed, awaiting the coach


# ---------------------------------------------------------------------------------------------
# Seeding


@dataclass
class Seeded:
    trainees: int
    cycles: int
    items: int
    patterns: int
    cohorts: dict[int, int]  # cohort id -> trainees
    launches: dict[int, int]  # cohort id -> its launch id
    rows: dict[str, int]
    seconds: dict[str, float]
    answers: int
    rated_answers: int  # answers with a score: what the floor's counts must add up to
    cycles_with_enough: int
    common_specialty: str  # the filtered report's
    database_mb: float | None = None


_POOLS: dict[tuple[Any, ...], list[list[Pattern]]] = {}


def pattern_pools(instrument: Any, rules: Any, args: argparse.Namespace) -> list[list[Pattern]]:
    """``args.patterns`` scored answer patterns, a pool per training year (later years score a
    little higher); computed once per run, the same for both databases."""
    key = (args.seed, args.patterns, args.raters, instrument.sha256, rules)
    if key not in _POOLS:
        rng = random.Random(f"{args.seed}:patterns")
        per_year = max(1, math.ceil(args.patterns / TRAINING_YEARS))
        pools = [[make_pattern(instrument, rng, year, args.raters) for _ in range(per_year)]
                 for year in range(TRAINING_YEARS)]
        for pattern in (p for pool in pools for p in pool):
            score_pattern(pattern, instrument, rules)
        _POOLS[key] = pools
    return _POOLS[key]


def cohort_layout(trainees: int, cohorts: int, year: int) -> list[tuple[str, int, int]]:
    """(name, intake year, trainees) of each cohort: one national intake, or ``cohorts``
    yearly intakes of one programme, the latest first."""
    if cohorts == 1:
        return [(f"Bench STP {year} national intake", year, trainees)]
    sizes = [trainees // cohorts + (i < trainees % cohorts) for i in range(cohorts)]
    return [(f"Bench STP {year - i} intake", year - i, size) for i, size in enumerate(sizes)]


def seed(database_url: str, kind: str, args: argparse.Namespace) -> Seeded:
    from sqlalchemy import Boolean, Integer, Text, column, select, table

    from feedback360.extensions import db
    from feedback360.instruments import instrument_from_version, load_directory, snapshot
    from feedback360.models import (
        Answer,
        CoachAssignment,
        Cohort,
        CohortLaunch,
        CohortLaunchCycle,
        Comment,
        CycleScore,
        FeedbackCycle,
        Invitation,
        Response,
        User,
        UTCDateTime,
    )
    from feedback360.passwords import hash_password
    from feedback360.scoring import AnonymityRules

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    app = make_app(database_url)
    now = datetime.now(UTC)
    today = now.date()
    rng = random.Random(f"{args.seed}:people")
    with app.app_context():
        version = snapshot(load_directory(app.config["INSTRUMENTS_DIR"])[INSTRUMENT])
        db.session.commit()
        version_id = version.id
        instrument = instrument_from_version(version)  # exactly what the app scores with
        rules = AnonymityRules.from_config(app.config)

        clock = time.perf_counter()
        pools = pattern_pools(instrument, rules, args)
        seconds["patterns_scored"] = time.perf_counter() - clock
        log(f"{kind}: {sum(map(len, pools))} answer patterns scored with score_cycle in "
            f"{seconds['patterns_scored']:.1f} s"
            + (" (computed earlier in this run)" if seconds["patterns_scored"] < 0.1 else ""))

        clock = time.perf_counter()
        connection = db.session.connection()
        if kind == "sqlite":
            connection.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MiB, this load only
            connection.exec_driver_sql("PRAGMA synchronous = OFF")
        loader = Loader(kind, connection)
        layout = cohort_layout(args.trainees, args.cohorts, today.year)
        loader.load(Cohort.__table__, ["name", "programme", "intake_year", "archived",
                                       "created_at"],
                    [(name, PROGRAMME, intake, False, now - timedelta(days=400))
                     for name, intake, _size in layout])
        cohort_ids = list(connection.scalars(select(Cohort.id).order_by(Cohort.id)))
        password_hash = hash_password("bench cohort " + secrets.token_hex(8))  # no one signs in
        since = now - timedelta(days=400)
        coaches = max(1, math.ceil(args.trainees / TRAINEES_PER_COACH))
        # (position, cohort index, specialty, training year, site) of each trainee
        people: list[tuple[int, int, str, int, str]] = []
        for index, (_name, intake, size) in enumerate(layout):
            for _ in range(size):
                year = (rng.choices(range(1, TRAINING_YEARS + 1), (36, 33, 31))[0]
                        if args.cohorts == 1 else min(TRAINING_YEARS, today.year - intake + 1))
                people.append((len(people), index, rng.choices(SPECIALTIES, SPECIALTY_WEIGHTS)[0],
                               year, rng.choices(SITES, SITE_WEIGHTS)[0]))

        def users() -> Iterator[tuple[Any, ...]]:
            yield (f"programme.lead@{EMAIL_DOMAIN}", "Programme Lead", password_hash, "admin",
                   True, secrets.token_hex(16), None, None, None, None, since, since)
            for n in range(coaches):
                yield (f"coach{n:05d}@{EMAIL_DOMAIN}",
                       f"Dr {FIRST[(n * 5) % len(FIRST)]} {LAST[(n * 3) % len(LAST)]}",
                       password_hash, "coach", True, secrets.token_hex(16), None, None, None,
                       SITES[n % len(SITES)], since, since)
            for n, cohort, specialty, year, site in people:
                yield (f"trainee{n:05d}@{EMAIL_DOMAIN}",
                       f"{FIRST[n % len(FIRST)]} {LAST[(n * 7) % len(LAST)]}", password_hash,
                       "trainee", True, secrets.token_hex(16), cohort_ids[cohort], specialty,
                       year, site, since, since)

        loader.load(User.__table__, ["email", "name", "password_hash", "role", "active",
                                     "session_nonce", "cohort_id", "specialty", "training_year",
                                     "site", "created_at", "activated_at"], users())
        ids = dict(connection.execute(select(User.email, User.id)).all())
        lead = ids[f"programme.lead@{EMAIL_DOMAIN}"]
        trainee_ids = [ids[f"trainee{n:05d}@{EMAIL_DOMAIN}"] for n in range(len(people))]
        coach_of = [ids[f"coach{n // TRAINEES_PER_COACH:05d}@{EMAIL_DOMAIN}"]
                    for n in range(len(people))]
        loader.load(CoachAssignment.__table__, ["coach_id", "trainee_id", "created_at"],
                    ((coach_of[n], trainee_ids[n], since) for n in range(len(people))))

        # One launch per cohort, closed three weeks ago; its cycles closed with it.
        closes_on = today - timedelta(days=21)
        opens_on = closes_on - timedelta(days=35)
        opened = datetime.combine(opens_on, datetime.min.time(), tzinfo=UTC)
        closed = datetime.combine(closes_on, datetime.min.time(), tzinfo=UTC)
        loader.load(CohortLaunch.__table__, ["cohort_id", "instrument_version_id", "title",
                                             "closes_on", "launched_by_id", "launched_at"],
                    [(cohort_id, version_id, f"{name}: 360 feedback {closes_on.year}", closes_on,
                      lead, opened) for cohort_id, (name, _i, _s) in zip(cohort_ids, layout,
                                                                         strict=True)])
        launch_of = dict(connection.execute(select(CohortLaunch.cohort_id, CohortLaunch.id)).all())
        released = [rng.random() < RELEASED_SHARE for _ in people]
        loader.load(FeedbackCycle.__table__,
                    ["trainee_id", "instrument_version_id", "title", "status", "opens_on",
                     "closes_on", "created_at", "opened_at", "closed_at", "released_at",
                     "released_by_id", "specialty_at_close", "training_year_at_close",
                     "site_at_close"],
                    ((trainee_ids[n], version_id, f"{instrument.title} {closes_on.year}",
                      "released" if released[n] else "closed", opens_on, closes_on, opened,
                      opened, closed,
                      closed + timedelta(days=7 + n % 14) if released[n] else None,
                      coach_of[n] if released[n] else None, *people[n][2:])
                     for n in range(len(people))))
        cycle_of = dict(connection.execute(select(FeedbackCycle.trainee_id,
                                                  FeedbackCycle.id)).all())
        cycle_ids = [cycle_of[t] for t in trainee_ids]
        loader.load(CohortLaunchCycle.__table__, ["cycle_id", "launch_id", "trainee_id"],
                    ((cycle_ids[n], launch_of[cohort_ids[people[n][1]]], trainee_ids[n])
                     for n in range(len(people))))
        pick = random.Random(f"{args.seed}:cycles")
        patterns = [pick.choice(pools[people[n][3] - 1]) for n in range(len(people))]
        seconds["people_and_cycles"] = time.perf_counter() - clock

        clock = time.perf_counter()
        extra_groups = list(instrument.group_keys)

        def invitation_rows() -> Iterator[tuple[Any, ...]]:
            for n, pattern in enumerate(patterns):
                declined = pick.choices(*zip(*DECLINED, strict=True))[0]
                unanswered = pick.choices(*zip(*UNANSWERED, strict=True))[0]
                statuses = (["completed"] * pattern.raters + ["declined"] * declined
                            + pick.choices(("sent", "opened"), (2, 1), k=unanswered))
                for j, status in enumerate(statuses):
                    group = (pattern.groups[j] if j < pattern.raters
                             else pick.choice(extra_groups[1:]))
                    first, last = FIRST[(n + j * 5) % len(FIRST)], LAST[(n * 3 + j) % len(LAST)]
                    email = f"{first}.{last}.{j}@nhs.example".lower()  # canonical already
                    yield (cycle_ids[n], email, email,
                           f"{first} {last}", group, status, secrets.token_hex(16),
                           1, 0 if status == "completed" else 1 + j % 2, opened,
                           pick.choice(DECLINE_REASONS) if status == "declined" else None,
                           closes_on - timedelta(days=(n + j) % 30)
                           if status == "completed" else None)

        loader.load(Invitation.__table__,
                    ["cycle_id", "rater_email", "rater_identity", "rater_name", "rater_group",
                     "status", "token_nonce", "sent_count", "reminded_count", "last_sent_at",
                     "decline_reason", "completed_on"], invitation_rows())
        seconds["invitations"] = time.perf_counter() - clock

        # Responses, answers, comments: random UUIDs as the app makes them, written in key
        # order (answers and comments are clustered on it), as a bulk load should be.
        clock = time.perf_counter()
        responses = sorted((uuid.uuid4(), n, r) for n, pattern in enumerate(patterns)
                           for r in range(pattern.raters + 1))
        loader.load(Response.__table__, ["id", "cycle_id", "rater_group", "is_self"],
                    ((rid, cycle_ids[n],
                      None if r == patterns[n].raters else patterns[n].groups[r],
                      r == patterns[n].raters) for rid, n, r in responses))
        seconds["responses"] = time.perf_counter() - clock

        clock = time.perf_counter()
        items = sorted(instrument.item_keys)  # the primary key's order within a response
        order = [instrument.item_keys.index(item) for item in items]
        in_key_order = {id(p): [[row[i] for i in order] for row in p.answers]
                        for pool in pools for p in pool}
        as_stored = loader.driver_value(Answer.__table__, "response_id")
        answers = len(responses) * len(items)
        rated = sum(sum(v is not None for v in in_key_order[id(patterns[n])][r])
                    for _rid, n, r in responses)

        def answer_rows() -> Iterator[tuple[Any, ...]]:
            for rid, n, r in responses:
                yield from zip(itertools.repeat(as_stored(rid)), items,
                               in_key_order[id(patterns[n])][r])

        log(f"{kind}: writing {len(responses):,} responses' {answers:,} answers "
            f"({answers - rated:,} not observed)")
        loader.load(Answer.__table__, ["response_id", "item_key", "score"], answer_rows(),
                    converted=True)
        seconds["answers"] = time.perf_counter() - clock

        clock = time.perf_counter()
        loader.load(Comment.__table__, ["response_id", "prompt_key", "text"],
                    sorted(((rid, prompt, body) for rid, n, r in responses
                            for index, prompt, body in patterns[n].comments if index == r),
                           key=lambda row: (row[0], row[1])))
        seconds["comments"] = time.perf_counter() - clock

        clock = time.perf_counter()
        summaries: Any = table("cycle_summaries", column("cycle_id", Integer),
                               column("report", Text), column("enough_responses", Boolean),
                               column("response_count", Integer),
                               column("computed_at", UTCDateTime()))  # the JSON is text already
        computed = closed + timedelta(minutes=5)
        loader.load(summaries, ["cycle_id", "report", "enough_responses", "response_count",
                                "computed_at"],
                    ((cycle_ids[n], p.report_json, p.enough, p.responses_counted, computed)
                     for n, p in enumerate(patterns)))
        loader.load(CycleScore.__table__, ["cycle_id", "level", "key", "self_score",
                                           "others_mean", "others_n"],
                    ((cycle_ids[n], *score) for n, p in enumerate(patterns)
                     for score in p.scores))
        seconds["summaries_and_scores"] = time.perf_counter() - clock

        clock = time.perf_counter()
        db.session.commit()
        if kind == "sqlite":  # the load's pages back into the database file, as in steady use
            connection = db.session.connection()
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.session.commit()
        if kind == "postgresql":  # what autovacuum would have done by now
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE")
        seconds["commit_and_analyze"] = time.perf_counter() - clock
        size = database_size(kind, database_url)
        db.session.remove()
        db.engine.dispose()
    seconds["total"] = time.perf_counter() - started
    sizes = {cohort_ids[i]: s for i, (_n, _y, s) in enumerate(layout)}
    return Seeded(len(people), len(people), len(items), sum(map(len, pools)), sizes,
                  {c: launch_of[c] for c in cohort_ids}, dict(loader.rows),
                  {k: round(v, 1) for k, v in seconds.items()}, answers, rated,
                  sum(p.enough for p in patterns),
                  Counter(person[2] for person in people).most_common(1)[0][0],
                  round(size / 2**20, 1) if size else None)


# ---------------------------------------------------------------------------------------------
# The operations timed, each in a fresh process (``--worker``)


@dataclass(frozen=True)
class Operation:
    label: str
    calls: int  # per process: the first call, then warm ones
    every_repeat: bool  # run --repeat times (else at most EXTRA_REPEAT times)
    needs: tuple[str, ...]  # "module:function" entry points it calls


EXTRA_REPEAT = 3
OPERATIONS = {
    "floor": Operation("floor: SQL GROUP BY rater group, item", 2, True, ()),
    "report": Operation("cohort report", 2, True, (f"{REPORT_MODULE}:cohort_report",)),
    "report_filtered": Operation("cohort report, specialty + year filter", 1, False,
                                 (f"{REPORT_MODULE}:cohort_report",)),
    # the stored analyses deleted first (untimed): what the first report after a change (or
    # close-due-cycles, once for every process) pays to build and store the analysis
    "report_rebuilt": Operation("cohort report, nothing stored: rebuilt", 1, False,
                                (f"{REPORT_MODULE}:cohort_report", f"{ANALYSES_MODULE}:refresh")),
    "aggregates_csv": Operation("aggregates export, CSV", 1, False, (
        f"{REPORT_MODULE}:cohort_report", "feedback360.scoring.cohort.tables:report_sheets",
        "feedback360.scoring.cohort.tables:long_form", "feedback360.exports:to_csv")),
    "aggregates_xlsx": Operation("aggregates export, XLSX", 1, False, (
        f"{REPORT_MODULE}:cohort_report", "feedback360.scoring.cohort.tables:report_sheets",
        "feedback360.exports:to_xlsx")),
    "items_csv": Operation("item-level export, CSV (the launch)", 1, False, (
        f"{REPORT_MODULE}:item_level_rows", "feedback360.exports:to_csv")),
    "items_xlsx": Operation("item-level export, XLSX (the launch)", 1, False, (
        f"{REPORT_MODULE}:item_level_rows", "feedback360.exports:to_xlsx")),
}


def _entry_point(spec: str) -> Callable[..., Any] | None:
    module_name, name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise  # a module that exists failed to import: say so
        return None
    found = getattr(module, name, None)
    return found if callable(found) else None


def available_operations() -> list[str]:
    """The operations whose entry points exist in this tree (the cohort report and its exports
    come with branch cohort-report)."""
    return [op for op, spec in OPERATIONS.items() if all(map(_entry_point, spec.needs))]


@dataclass(frozen=True)
class Scope:
    """What the operations run on: every cohort (with its launch), and for the filtered report
    one specialty and training year."""

    cohorts: list[tuple[int, int]]  # (cohort id, its launch id)
    specialty: str
    training_year: int

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, text: str) -> Scope:
        given = json.loads(text)
        return cls([tuple(pair) for pair in given["cohorts"]], given["specialty"],
                   given["training_year"])


def operation(name: str, scope: Scope) -> Callable[[], dict[str, Any]]:
    """A function doing operation ``name`` once (inside an app context), for every cohort, as
    the app does it (the exports: what ``views.cohort_reports.download`` calls), and returning a
    few facts about its result, to check it did the work."""
    from feedback360.extensions import db

    if name == "floor":
        def floor() -> dict[str, Any]:
            rows = db.session.connection().exec_driver_sql(FLOOR_SQL).fetchall()
            return {"rows": len(rows), "rated_answers": sum(int(row[3]) for row in rows)}
        return floor

    if name == "store":
        analyses = importlib.import_module(ANALYSES_MODULE)

        def store() -> dict[str, Any]:
            built = analyses.refresh([c for c, _launch in scope.cohorts])
            sizes = db.session.execute(db.text(
                "SELECT length(payload) FROM cohort_analyses")).scalars().all()
            return {"built": built, "payload_bytes": sum(sizes)}
        return store

    reports = importlib.import_module(REPORT_MODULE)
    if name == "report_rebuilt":
        db.session.execute(db.text("DELETE FROM cohort_analyses"))
        db.session.commit()
    if name in ("report", "report_filtered", "report_rebuilt"):
        narrow = ({"specialty": scope.specialty, "training_year": scope.training_year}
                  if name == "report_filtered" else {})

        def report() -> dict[str, Any]:
            made = [report_facts(reports.cohort_report(reports.ReportFilters(cohort_id=c,
                                                                             **narrow)))
                    for c, _launch in scope.cohorts]
            return {"cohorts": len(made),
                    **{name: sum(f.get(name) or 0 for f in made)
                       for name in ("trainees", "launched", "scored")},
                    "first_cohort": made[0]}
        return report

    from feedback360 import exports
    from feedback360.scoring.cohort import tables

    if name in ("aggregates_csv", "aggregates_xlsx"):
        def aggregates() -> dict[str, Any]:
            size = 0
            for cohort_id, _launch in scope.cohorts:
                shown = reports.cohort_report(reports.ReportFilters(cohort_id=cohort_id))
                sheets = tables.report_sheets(shown, {"Cohort": f"cohort {cohort_id}"})
                size += len(exports.to_csv(tables.long_form(sheets)) if name.endswith("csv")
                            else exports.to_xlsx(sheets))
            return {"bytes": size}
        return aggregates
    if name in ("items_csv", "items_xlsx"):
        def items() -> dict[str, Any]:
            size = rows = 0
            for cohort_id, launch in scope.cohorts:
                frame = reports.item_level_rows(reports.ReportFilters(cohort_id=cohort_id,
                                                                      launch_id=launch))
                rows += len(frame)
                size += len(exports.to_csv(frame) if name.endswith("csv")
                            else exports.to_xlsx({"Item-level scores": frame}))
            return {"rows": rows, "bytes": size}
        return items
    raise SystemExit(f"unknown operation {name!r}")


def report_facts(report: Any) -> dict[str, Any]:
    """A few numbers showing the report did its work (whatever its exact shape)."""
    facts: dict[str, Any] = {"message": getattr(report, "message", None)}
    participation = getattr(report, "participation", None)
    for name in ("trainees", "launched", "scored"):
        if participation is not None and hasattr(participation, name):
            facts[name] = getattr(participation, name)
    for name in ("domains", "elements", "breakdowns", "trend", "weakest", "strongest",
                 "perception"):
        value = getattr(report, name, None)
        if value is not None:
            facts[name] = len(value)
    return facts


def _memory_kb(field: str) -> int | None:
    """A line of /proc/self/status in kB (VmRSS: resident now; VmHWM: peak resident)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _reset_peak_rss() -> bool:
    """Set VmHWM back to the current RSS (Linux >= 4.0), so the peak is that of what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run_worker(args: argparse.Namespace) -> int:
    """One fresh process: set up untimed, then time the operation ``args.calls`` times and print
    the figures as JSON on the last line of stdout."""
    import resource

    app = make_app(args.url)
    with app.app_context():
        from feedback360.extensions import db

        db.session.connection().exec_driver_sql("SELECT 1")  # connected before timing
        do = operation(args.worker, Scope.decode(args.scope))
        gc.collect()
        figures: dict[str, Any] = {"operation": args.worker, "pid": os.getpid(), "calls": []}
        rss_before = _memory_kb("VmRSS")
        figures["rss_before_mb"] = round(rss_before / 1024, 1) if rss_before else None
        figures["peak_reset"] = _reset_peak_rss()
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        profiler = None
        if args.trace:
            import tracemalloc

            tracemalloc.start()
        if args.profile_out:
            import cProfile

            profiler = cProfile.Profile()
        for call in range(args.calls):
            if profiler:
                profiler.enable()
            db0 = _tree_cpu(args.db_pid, reaped=True)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            facts = do()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            db_cpu = _tree_cpu(args.db_pid, reaped=True) - db0
            if profiler:
                profiler.disable()
            figures["calls"].append({"wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
                                     "db_cpu_s": round(db_cpu, 3) if args.db_pid else None})
            if call == 0:
                figures["facts"] = facts
                peak = _memory_kb("VmHWM")
                figures["peak_rss_mb"] = round(peak / 1024, 1) if peak else None
                figures["peak_rss_increase_mb"] = (round((peak - rss_before) / 1024, 1)
                                                   if peak and rss_before else None)
                figures["ru_maxrss_increase_mb"] = round(
                    (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss_before)
                    / 1024, 1)
                if args.trace:
                    import tracemalloc

                    figures["tracemalloc_peak_mb"] = round(
                        tracemalloc.get_traced_memory()[1] / 2**20, 1)
                    tracemalloc.stop()
            del facts
            gc.collect()
        if profiler:
            profiler.dump_stats(args.profile_out)
        db.session.remove()
    print(json.dumps(figures), flush=True)
    return 0


def measure(name: str, database_url: str, scope: Scope, *, db_pid: int | None = None,
            calls: int = 2, trace: bool = False, profile_out: Path | None = None
            ) -> dict[str, Any]:
    """Run one measurement in a fresh process; its figures, or the error it ended with."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name,
               "--url", database_url, "--scope", scope.encode(),
               "--calls", str(calls)]
    if db_pid:
        command += ["--db-pid", str(db_pid)]
    if trace:
        command.append("--trace")
    if profile_out:
        command += ["--profile-out", str(profile_out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK360_")}
    started = time.perf_counter()
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=WORKER_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return {"operation": name, "error": f"timed out after {WORKER_TIMEOUT} s"}
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        return {"operation": name, "error": f"exit {result.returncode}: "
                + (result.stderr.strip().splitlines() or ["(no output)"])[-1][:500],
                "stderr_tail": result.stderr[-3000:]}
    figures = json.loads(lines[-1])
    figures["process_s"] = round(time.perf_counter() - started, 2)
    return figures


# ---------------------------------------------------------------------------------------------
# One database


def summarise(runs: list[dict[str, Any]], traced: dict[str, Any] | None) -> dict[str, Any]:
    good = [r for r in runs if "error" not in r]
    first = sorted(r["calls"][0]["wall_s"] for r in good)
    warm = sorted(r["calls"][1]["wall_s"] for r in good if len(r["calls"]) > 1)
    cpu = sorted(r["calls"][0]["cpu_s"] for r in good)
    db_cpu = sorted(r["calls"][0]["db_cpu_s"] for r in good
                    if r["calls"][0].get("db_cpu_s") is not None)
    both = sorted(r["calls"][0]["cpu_s"] + (r["calls"][0].get("db_cpu_s") or 0.0) for r in good)
    peaks = [r["peak_rss_mb"] for r in good if r.get("peak_rss_mb") is not None]
    return {
        "runs": len(runs), "errors": [r["error"] for r in runs if "error" in r],
        "first_call_s": {"p50": statistics.median(first) if first else None,
                         "min": first[0] if first else None, "max": first[-1] if first else None,
                         "all": first},
        "warm_call_s": {"p50": statistics.median(warm) if warm else None, "all": warm},
        "cpu_first_call_s": {"p50": statistics.median(cpu) if cpu else None},
        # PostgreSQL's processes (backends, parallel workers) during the first call
        "db_cpu_first_call_s": {"p50": statistics.median(db_cpu) if db_cpu else None},
        "total_cpu_first_call_s": {"p50": statistics.median(both) if both else None},
        "peak_rss_mb": max(peaks) if peaks else None,
        "rss_before_mb": statistics.median(r["rss_before_mb"] for r in good
                                           if r.get("rss_before_mb")) if good else None,
        "peak_rss_increase_mb": max((r["peak_rss_increase_mb"] for r in good
                                     if r.get("peak_rss_increase_mb") is not None),
                                    default=None),
        "tracemalloc_peak_mb": (traced or {}).get("tracemalloc_peak_mb"),
        "tracemalloc_error": (traced or {}).get("error"),
        "facts": good[0].get("facts") if good else None,
    }


def bench_database(kind: str, args: argparse.Namespace, operations: list[str]
                   ) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"feedback360-cohort-{kind}-"))
    stack = contextlib.ExitStack()
    try:
        databases = FreshDatabases(kind, workdir, stack, keep=args.keep)
        database_url, detail = databases.create("cohort" if kind == "sqlite"
                                                else "feedback360_cohort")
        log(f"{kind}: {detail}")
        migrate(database_url)
        seeded = seed(database_url, kind, args)
        log(f"{kind}: seeded in {seeded.seconds['total']:.1f} s ("
            + ", ".join(f"{k} {v}" for k, v in seeded.seconds.items() if k != "total") + "): "
            + ", ".join(f"{k} {v:,}" for k, v in seeded.rows.items()))
        biggest = max(seeded.cohorts, key=seeded.cohorts.__getitem__)
        # every cohort: together, all the trainees
        scope = Scope([(c, seeded.launches[c]) for c in sorted(seeded.cohorts)],
                      seeded.common_specialty, 2)
        # as close-due-cycles does once the launch has closed: every report after it reads the
        # stored analysis (without cohort_analyses in the tree there is nothing to store)
        stored = (measure("store", database_url, scope, db_pid=databases.db_pid, calls=1)
                  if _entry_point(f"{ANALYSES_MODULE}:refresh") else None)
        if stored:
            log(f"{kind}: analyses stored: " + (f"ERROR {stored['error']}" if "error" in stored
                                                else f"{stored['calls'][0]['wall_s']:.3f} s, "
                                                f"{stored['facts']['payload_bytes']:,} bytes"))
        busy_before = wait_until_idle(args.wait_idle) if args.wait_idle else None
        busy0, total0 = _system_cpu()
        window0 = time.perf_counter()
        runs: dict[str, list[dict[str, Any]]] = {op: [] for op in operations}
        for repeat in range(args.repeat):
            shift = repeat % len(operations)
            for op in operations[shift:] + operations[:shift]:
                if not OPERATIONS[op].every_repeat and repeat >= EXTRA_REPEAT:
                    continue
                figures = measure(op, database_url, scope, db_pid=databases.db_pid,
                                  calls=OPERATIONS[op].calls)
                runs[op].append(figures)
                log(f"{kind}: {op} run {repeat + 1}/{args.repeat}: "
                    + (f"ERROR {figures['error']}" if "error" in figures else
                       f"{figures['calls'][0]['wall_s']:.3f} s"
                       + (f" first, {figures['calls'][-1]['wall_s']:.3f} s warm"
                          if len(figures["calls"]) > 1 else "")
                       + f", peak RSS {figures['peak_rss_mb']} MB"))
        traced = {}
        for op in operations:
            traced[op] = measure(op, database_url, scope, calls=1, trace=True)
            log(f"{kind}: {op} under tracemalloc: "
                f"{traced[op].get('tracemalloc_peak_mb', traced[op].get('error'))} MB peak")
        window = time.perf_counter() - window0
        busy1, total1 = _system_cpu()
        profile = None
        if args.profile and "report" in operations:
            out = workdir / "report.prof"
            profiled = measure("report", database_url, scope, calls=1, profile_out=out)
            profile = profile_text(out, args.profile) if out.exists() else profiled.get("error")
        plan = floor_plan(kind, database_url)
    finally:
        stack.close()
        if args.keep:
            log(f"{kind}: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "benchmark": "cohort", "database": kind, "database_detail": detail,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": cores(), "python": sys.version.split()[0]},
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "app_tree": app_fingerprint(("feedback360/services/cohort_reports.py",
                                     "feedback360/services/cohort_basis.py",
                                     "feedback360/services/cohort_analyses.py",
                                     "feedback360/scoring/cohort",
                                     "feedback360/services/summaries.py")),
        "stored": stored,
        "seed": {**asdict(seeded), "raters_per_cycle": args.raters,
                 "instrument": INSTRUMENT,
                 "largest_cohort": biggest, "scope": asdict(scope)},
        "floor_sql": FLOOR_SQL, "floor_plan": plan,
        "window": {"seconds": round(window, 1), "other_load_before_start_cores": busy_before,
                   "machine_busy_cores": round((busy1 - busy0) / max(total1 - total0, 1e-9)
                                               * cores(), 2)},
        "operations": {op: summarise(runs[op], traced.get(op)) for op in operations},
        "raw": {op: runs[op] + [traced[op]] for op in operations},
    }
    if profile:
        result["profile"] = profile
    return verdict(result)


def floor_plan(kind: str, database_url: str) -> list[str]:
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            prefix = "EXPLAIN QUERY PLAN " if kind == "sqlite" else "EXPLAIN "
            rows = conn.exec_driver_sql(prefix + FLOOR_SQL).fetchall()
            return [str(row[-1]) for row in rows]
    finally:
        engine.dispose()


def profile_text(path: Path, top: int) -> str:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    ops = result["operations"]
    floor = ops.get("floor", {}).get("first_call_s", {}).get("p50")
    floor_cpu = ops.get("floor", {}).get("total_cpu_first_call_s", {}).get("p50")
    checks = []
    facts = ops.get("floor", {}).get("facts") or {}
    if facts:
        expected = result["seed"]["rated_answers"]
        checks.append({"check": "floor's counts add up to the answers with a score",
                       "expected": expected, "found": facts.get("rated_answers"),
                       "ok": facts.get("rated_answers") == expected})
    facts = (ops.get("report") or {}).get("facts") or {}
    if facts:
        checks.append({"check": "the report covers every trainee", "expected":
                       result["seed"]["trainees"], "found": facts.get("trainees"),
                       "ok": facts.get("trainees") == result["seed"]["trainees"]})
    for figures in ops.values():
        for key in ("first_call_s", "warm_call_s"):
            p50 = figures[key]["p50"]
            figures[key]["ratio_to_floor"] = (round(p50 / floor, 3)
                                              if floor and p50 is not None else None)
        cpu = figures["total_cpu_first_call_s"]
        cpu["ratio_to_floor"] = (round(cpu["p50"] / floor_cpu, 3)
                                 if floor_cpu and cpu["p50"] is not None else None)
    report = ops.get("report")
    aim: dict[str, Any] = {"ratio": AIM_RATIO, "peak_mb": AIM_PEAK_MB}
    if report and report["first_call_s"]["p50"] is not None:
        ratio = report["first_call_s"]["ratio_to_floor"]
        peak = report["peak_rss_mb"]
        aim.update({"report_ratio_to_floor": ratio, "report_peak_rss_mb": peak,
                    "report_cpu_ratio_to_floor": report["total_cpu_first_call_s"]["ratio_to_floor"],
                    "ratio_met": ratio is not None and ratio <= AIM_RATIO})
        rebuilt = ops.get("report_rebuilt")
        peaks = [peak, *([rebuilt["peak_rss_mb"]] if rebuilt else [])]
        if rebuilt:
            aim["rebuilt_ratio_to_floor"] = rebuilt["first_call_s"]["ratio_to_floor"]
            aim["rebuilt_peak_rss_mb"] = rebuilt["peak_rss_mb"]
        aim["memory_met"] = all(p is not None and p < AIM_PEAK_MB for p in peaks)
        aim["met"] = aim["ratio_met"] and aim["memory_met"]
    else:
        aim["met"] = None
    result["aim"], result["checks"] = aim, checks
    return result


# ---------------------------------------------------------------------------------------------
# Output


def print_report(result: dict[str, Any]) -> None:
    seed_info, aim = result["seed"], result["aim"]
    rows = seed_info["rows"]
    lines = [
        "", f"== bench/cohort: {result['database']} ({result['database_detail']})",
        f"   {seed_info['trainees']:,} trainees in {len(seed_info['cohorts'])} cohort(s), one "
        f"{INSTRUMENT} cycle each, {seed_info['raters_per_cycle']} raters + self: "
        f"{rows.get('answers', 0):,} answers ({seed_info['answers'] - seed_info['rated_answers']:,}"
        f" not observed), {rows.get('invitations', 0):,} invitations, "
        f"{rows.get('cycle_scores', 0):,} cycle scores; {seed_info['cycles_with_enough']:,} of "
        f"{seed_info['cycles']:,} cycles with enough responses",
        f"   seeded in {seed_info['seconds']['total']:.0f} s, database "
        f"{seed_info['database_mb']} MB; each run a fresh process; times in seconds", "",
        f"   {'operation':<40}{'p50':>8}{'min':>8}{'max':>8}{'warm':>8}{'x floor':>9}"
        f"{'cpu':>8}{'db cpu':>8}{'cpu x':>7}{'peak RSS':>10}{'+RSS':>7}{'traced':>8}"]
    for op, f in result["operations"].items():
        first, warm = f["first_call_s"], f["warm_call_s"]
        fmt = lambda v, spec=".3f": "-" if v is None else format(v, spec)  # noqa: E731
        lines.append(
            f"   {OPERATIONS[op].label:<40}{fmt(first['p50']):>8}{fmt(first['min']):>8}"
            f"{fmt(first['max']):>8}{fmt(warm['p50']):>8}{fmt(first['ratio_to_floor'], '.2f'):>9}"
            f"{fmt(f['cpu_first_call_s']['p50']):>8}{fmt(f['db_cpu_first_call_s']['p50']):>8}"
            f"{fmt(f['total_cpu_first_call_s']['ratio_to_floor'], '.2f'):>7}"
            f"{fmt(f['peak_rss_mb'], '.0f'):>10}"
            f"{fmt(f['peak_rss_increase_mb'], '.0f'):>7}{fmt(f['tracemalloc_peak_mb'], '.0f'):>8}")
        for error in f["errors"][:3]:
            lines.append(f"      ERROR: {error}")
    lines.append("   (p50/min/max: wall time of the first call in a fresh process over the runs; "
                 "warm: a second call in the same process; x floor: p50 / the floor's p50; "
                 "cpu, db cpu: CPU of the process and of PostgreSQL during the first call, "
                 "cpu x: their sum / the floor's; memory in MB: peak resident set during the "
                 "first call, its increase over the set-up, peak of Python allocations under "
                 "tracemalloc)")
    for check in result["checks"]:
        lines.append(f"   check: {check['check']}: {check['found']} "
                     f"{'=' if check['ok'] else '!='} {check['expected']}")
    if aim["met"] is None:
        lines.append("   aim: not judged (no cohort report timed)")
    else:
        lines.append(
            f"   aim (report <= {AIM_RATIO}x the floor, peak memory < {AIM_PEAK_MB:g} MB): "
            f"{'MET' if aim['met'] else 'MISSED'} (ratio {aim['report_ratio_to_floor']}: "
            f"{'met' if aim['ratio_met'] else 'missed'}, in CPU time "
            f"{aim['report_cpu_ratio_to_floor']}; peak RSS {aim['report_peak_rss_mb']} "
            f"MB: {'met' if aim['memory_met'] else 'missed'})")
        if "rebuilt_ratio_to_floor" in aim:
            lines.append(
                f"   judged on the report with the analysis stored (as after close-due-cycles); "
                f"rebuilding it (the first report after a change) takes "
                f"{aim['rebuilt_ratio_to_floor']}x the floor, peak RSS "
                f"{aim['rebuilt_peak_rss_mb']} MB")
    if result.get("stored") and "calls" in result["stored"]:
        lines.append(f"   storing every cohort's analysis after seeding (refresh): "
                     f"{result['stored']['calls'][0]['wall_s']:.3f} s")
    busy = result["window"]["machine_busy_cores"]
    lines.append(f"   machine during the runs ({result['window']['seconds']} s): {busy} of "
                 f"{result['machine']['cores']} cores busy (this benchmark's processes included)")
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--trainees", type=int, default=5000, help="trainees (default 5000)")
    parser.add_argument("--raters", type=int, default=15,
                        help="completed rater responses per cycle (default 15)")
    parser.add_argument("--cohorts", type=int, default=1,
                        help="yearly intakes the trainees are split over (default 1: one "
                             "national intake); every cohort's report is timed, the sum "
                             "being the full report")
    parser.add_argument("--repeat", type=int, default=5,
                        help="fresh-process runs of the floor and the report (default 5; the "
                             "other operations at most 3)")
    parser.add_argument("--patterns", type=int, default=300,
                        help="answer patterns scored with score_cycle (default 300)")
    parser.add_argument("--seed", type=int, default=360, help="random seed")
    parser.add_argument("--floor-only", action="store_true",
                        help="time only the floor (when the cohort report does not exist yet)")
    parser.add_argument("--only", metavar="OPS",
                        help="comma-separated operations to time (default: all that exist): "
                             + ", ".join(OPERATIONS))
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also run the report once under cProfile and print the top N "
                             "functions")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                        help="before timing, wait up to this long for other processes to "
                             "leave the CPU alone")
    parser.add_argument("--keep", action="store_true",
                        help="keep the SQLite file and the temporary directory (and the "
                             "database, in a PostgreSQL cluster you started)")
    # One measurement in a fresh process (what the benchmark runs itself).
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--scope", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)
    if args.trainees < 1 or args.repeat < 1 or args.patterns < 1 or args.cohorts < 1:
        parser.error("--trainees, --repeat, --patterns and --cohorts must be positive")
    if args.raters < 3:
        parser.error("--raters must be at least 3 (a supervisor and two seniors)")
    if args.cohorts > args.trainees:
        parser.error("--cohorts cannot exceed --trainees")

    functions = available_operations()
    if "report" not in functions and not args.floor_only:
        print(f"bench/cohort: {REPORT_MODULE}.cohort_report does not exist in this tree "
              f"({ROOT}); it comes with branch cohort-report. Run with --floor-only to seed "
              "and time the floor alone.", file=sys.stderr)
        return 2
    operations = ["floor"] if args.floor_only else functions
    missing = [op for op in OPERATIONS if op not in operations]
    if missing and not args.floor_only:
        log(f"not timed (their entry points do not exist in this tree): {', '.join(missing)}")
    if args.only:
        chosen = [op.strip() for op in args.only.split(",") if op.strip()]
        unknown = [op for op in chosen if op not in OPERATIONS]
        if unknown:
            parser.error(f"--only: unknown operations {', '.join(unknown)}; choose from "
                         + ", ".join(OPERATIONS))
        operations = [op for op in operations if op in chosen]
        if "floor" not in operations:
            operations.insert(0, "floor")  # the ratios are to the floor

    def report(kind: str, result: dict[str, Any]) -> bool:
        print_report(result)
        if result.get("profile"):
            print(f"\n== profile of the cohort report, {kind}\n{result['profile']}")
        return (any(f["errors"] for f in result["operations"].values())
                or not all(c["ok"] for c in result["checks"]))

    # a floor-only run (no report to compare) must not replace a whole run's figures
    return run_each_database(
        args.db, lambda kind: bench_database(kind, args, operations),
        lambda kind: f"cohort-{kind}{'-floor' if args.floor_only else ''}.json", report)


if __name__ == "__main__":
    sys.exit(main())
