#!/usr/bin/env python3
"""Benchmark ``bench/close``: ``flask close-due-cycles`` writing out sealed responses.

While a cycle is open its raters' answers are sealed (``feedback360/sealing.py``); closing it
opens them, shuffles them, writes them as anonymous rows and stores the cycle's summary, in one
transaction per cycle (docs/anonymity.md). This measures that job on a realistic batch.

For each database (SQLite file, throwaway PostgreSQL cluster) and each ``--repeat``:

1. a fresh database, migrated with ``flask db upgrade``;
2. ``--cycles`` trainees (default 300) with one open ``clcf`` cycle each, due to close, with
   ``--raters`` completed invitations (default 15), as many sealed responses (answers drawn by
   ``_seed.make_pattern``: realistic scores, "not observed" and comments, sealed with the app's
   own ``sealing.seal`` as submitting does) and a submitted self-assessment;
3. ``flask --app wsgi close-due-cycles`` run as cron would, timed from start to exit (app
   start-up included), with the CPU time of that process;
4. checks: every cycle closed, no sealed row left, exactly ``cycles x raters`` rater responses,
   and every cycle's stored report equal, number for number, to ``score_cycle`` on the same
   answers computed directly (what the code before sealing stored).

Then, in the same database kind, one more seeded batch is closed in-process cycle by cycle
(``services.cycles.close_due_cycle`` and a commit each, as the command does) to give the
per-cycle p50/p95/max.

Results go to ``bench/results/close-<db>.json``. Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ (when imported, too)

from _common import (
    ROOT,
    app_environment,
    log,
    make_app,
    migrate,
    percentile,
    run_each_database,
    venv_bin,
)
from _seed import FreshDatabases, make_pattern, score_pattern

INSTRUMENT = "clcf"
PATTERNS = 40  # distinct answer patterns; cycles reuse them (sealed afresh each time)
CLOSE_TIMEOUT = 1800


def seed(database_url: str, *, cycles: int, raters: int, rng: random.Random) -> dict[int, Any]:
    """The batch; returns each cycle's pattern (scored: the report it must give)."""
    from feedback360 import sealing
    from feedback360.extensions import db
    from feedback360.instruments import instrument_from_version, load_directory, snapshot
    from feedback360.models import (
        Answer,
        FeedbackCycle,
        Invitation,
        Response,
        SealedResponse,
        User,
    )
    from feedback360.scoring import AnonymityRules
    from feedback360.services.surveys import Draft, sealed_payload

    app = make_app(database_url)
    now = datetime.now(UTC)
    today = now.date()
    with app.app_context():
        version = snapshot(load_directory(app.config["INSTRUMENTS_DIR"])[INSTRUMENT])
        db.session.commit()
        instrument = instrument_from_version(version)
        rules = AnonymityRules.from_config(app.config)
        patterns = [make_pattern(instrument, rng, cycle_no=n % 3, raters=raters)
                    for n in range(PATTERNS)]
        for pattern in patterns:
            score_pattern(pattern, instrument, rules)
        items = instrument.item_keys
        trainees = [User(email=f"close.trainee{n:04d}@nhs.net", name=f"Trainee {n}",
                         role="trainee", session_nonce=secrets.token_hex(16))
                    for n in range(cycles)]
        db.session.add_all(trainees)
        db.session.flush()
        opened = now - timedelta(days=30)
        batch = [FeedbackCycle(trainee_id=t.id, instrument_version_id=version.id,
                               title="Bench 360", status="open", opens_on=opened.date(),
                               closes_on=today - timedelta(days=1), opened_at=opened)
                 for t in trainees]
        db.session.add_all(batch)
        db.session.flush()
        expected: dict[int, Any] = {}
        for n, cycle in enumerate(batch):
            pattern = patterns[rng.randrange(PATTERNS)]
            expected[cycle.id] = pattern
            comments: dict[int, dict[str, str]] = {}
            for index, prompt, text in pattern.comments:
                comments.setdefault(index, {})[prompt] = text
            for r, group in enumerate(pattern.groups):
                db.session.add(Invitation(
                    cycle_id=cycle.id, rater_email=f"rater{n}.{r}@nhs.net",
                    rater_identity=f"rater{n}.{r}@nhs.net",
                    rater_name=f"Rater {r}", rater_group=group, status="completed",
                    token_nonce=secrets.token_hex(16), sent_count=1,
                    completed_on=today - timedelta(days=1 + r % 20)))
                answers = {key: score for key, score in zip(items, pattern.answers[r],
                                                            strict=True)}
                draft = Draft(answers=answers, comments=comments.get(r, {}))
                db.session.add(SealedResponse(
                    id=uuid.uuid4(), cycle_id=cycle.id,
                    sealed=sealing.seal(sealed_payload(draft, group),
                                        purpose=sealing.SUBMITTED, owner=cycle.id)))
            own = Response(cycle_id=cycle.id, is_self=True)
            own.answers = [Answer(item_key=key, score=score)
                           for key, score in zip(items, pattern.answers[-1], strict=True)]
            db.session.add(own)
        db.session.commit()
    return expected


def same_report(stored: Any, direct: Any) -> bool:
    """Equal in every field and count; means and SDs equal but for the last bits of a float
    (the app sums answers in its own order, ``_seed.score_pattern`` in the pattern's)."""
    if isinstance(stored, dict) and isinstance(direct, dict):
        return stored.keys() == direct.keys() and all(same_report(stored[k], direct[k])
                                                      for k in stored)
    if isinstance(stored, list) and isinstance(direct, list):
        return len(stored) == len(direct) and all(map(same_report, stored, direct))
    if isinstance(stored, float) and isinstance(direct, float):
        return math.isclose(stored, direct, rel_tol=1e-12, abs_tol=1e-12)
    return stored == direct


def check(database_url: str, expected: dict[int, Any], raters: int) -> dict[str, Any]:
    from feedback360.extensions import db
    from feedback360.models import CycleSummary, FeedbackCycle, Response, SealedResponse

    app = make_app(database_url)
    with app.app_context():
        def count(query: Any) -> int:
            return db.session.scalar(query)

        closed = count(db.select(db.func.count()).select_from(FeedbackCycle)
                       .where(FeedbackCycle.status == "closed"))
        sealed = count(db.select(db.func.count()).select_from(SealedResponse))
        rater_responses = count(db.select(db.func.count()).select_from(Response)
                                .where(~Response.is_self))
        reports = {cycle_id: report for cycle_id, report in db.session.execute(
            db.select(CycleSummary.cycle_id, CycleSummary.report))}
        differing = [cycle_id for cycle_id, pattern in expected.items()
                     if not same_report(reports.get(cycle_id), json.loads(pattern.report_json))]
        db.session.remove()
    result = {"cycles_closed": closed, "sealed_rows_left": sealed,
              "rater_responses": rater_responses, "expected_responses": len(expected) * raters,
              "reports_differing": len(differing)}
    result["passed"] = (closed == len(expected) and sealed == 0
                        and rater_responses == len(expected) * raters and not differing)
    return result


def run_command(database_url: str) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([venv_bin("flask"), "--app", "wsgi", "close-due-cycles"], cwd=ROOT,
                          env=app_environment(database_url), capture_output=True, text=True,
                          timeout=CLOSE_TIMEOUT, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"close-due-cycles failed ({done.returncode}):\n{done.stdout}\n"
                           f"{done.stderr}")
    log(f"close-due-cycles: {done.stdout.strip().splitlines()[0]} in {wall:.2f} s")
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime)
            + (after.ru_stime - before.ru_stime)}


def per_cycle_times(database_url: str) -> list[float]:
    from feedback360.extensions import db
    from feedback360.services.cycles import close_due_cycle, due_cycle_ids, today

    app = make_app(database_url)
    times = []
    with app.app_context():
        for cycle_id in due_cycle_ids(today()):
            started = time.perf_counter()
            close_due_cycle(cycle_id)
            db.session.commit()
            times.append(time.perf_counter() - started)
    return sorted(times)


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"database": kind, "cycles": args.cycles, "raters": args.raters,
                              "runs": [], "started": datetime.now(UTC).isoformat()}
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-close-")))
        databases = FreshDatabases(kind, workdir, stack, keep=args.keep)
        for run in range(args.repeat + 1):
            database_url, described = databases.create(f"close_{run}")
            result["database_described"] = described
            migrate(database_url)
            clock = time.perf_counter()
            expected = seed(database_url, cycles=args.cycles, raters=args.raters,
                            rng=random.Random(f"{args.seed}:{run}"))
            log(f"{kind}: seeded {args.cycles} cycles x {args.raters} sealed responses in "
                f"{time.perf_counter() - clock:.1f} s")
            if run < args.repeat:
                timing = run_command(database_url)
            else:  # the last batch: cycle by cycle, in this process
                times = per_cycle_times(database_url)
                timing = {"per_cycle_p50_ms": 1000 * (percentile(times, 0.5) or 0),
                          "per_cycle_p95_ms": 1000 * (percentile(times, 0.95) or 0),
                          "per_cycle_max_ms": 1000 * max(times, default=0),
                          "in_process_total_s": sum(times)}
            checked = check(database_url, expected, args.raters)
            result["runs"].append({**timing, **checked})
    walls = sorted(r["wall_s"] for r in result["runs"] if "wall_s" in r)
    result["command_wall_p50_s"] = percentile(walls, 0.5)
    result["passed"] = all(r["passed"] for r in result["runs"])
    return result


def report(kind: str, result: dict[str, Any]) -> bool:
    print(f"\n== close: {kind}: {result.get('database_described', '')}")
    print(f"   {result['cycles']} cycles x {result['raters']} sealed responses")
    for n, run in enumerate(result["runs"], start=1):
        if "wall_s" in run:
            print(f"   run {n}: close-due-cycles {run['wall_s']:.2f} s wall, "
                  f"{run['cpu_s']:.2f} s CPU")
        else:
            print(f"   run {n}: cycle by cycle p50 {run['per_cycle_p50_ms']:.1f} ms, "
                  f"p95 {run['per_cycle_p95_ms']:.1f} ms, max {run['per_cycle_max_ms']:.1f} ms, "
                  f"total {run['in_process_total_s']:.2f} s")
        print(f"      {run['cycles_closed']} closed, {run['sealed_rows_left']} sealed left, "
              f"{run['rater_responses']}/{run['expected_responses']} responses, "
              f"{run['reports_differing']} reports differing: "
              f"{'ok' if run['passed'] else 'FAILED'}")
    if result["command_wall_p50_s"] is not None:
        print(f"   close-due-cycles p50: {result['command_wall_p50_s']:.2f} s")
    return not result["passed"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cycles", type=int, default=300, help="cycles due to close")
    parser.add_argument("--raters", type=int, default=15, help="sealed responses per cycle")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of the command (each on a fresh batch)")
    parser.add_argument("--seed", type=int, default=360, help="random seed")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases")
    args = parser.parse_args(argv)
    return run_each_database(args.db, lambda kind: bench_database(kind, args),
                             lambda kind: f"close-{kind}.json", report)


if __name__ == "__main__":
    sys.exit(main())
