#!/usr/bin/env python3
"""Benchmark ``bench/load``: ``bench/submit`` at 32 and at 200 raters, one and two servers.

Runs ``bench/submit.py`` once for each database and number of simulated raters (and, on
PostgreSQL, each number of app servers in ``--servers``: two gunicorn instances sharing the
database and one redis-server, each rater's requests alternated between them), one after
another on the same machine, then prints the figures side by side: completed surveys/s, p95 and
p99 of page saves and of final submits, errors (any 4xx or 5xx, or a refused connection), the
database check (every successful submit exactly one response) and, with two servers, that
wrong passwords split across both trip the per-account limit at the same count as on one.
The machine's load average is recorded before and after each run.

Each run's full result goes to ``bench/results/submit-<db>[-<raters>][-<n>servers].json`` as
``bench/submit.py`` writes it; the table to ``bench/results/load.json``. Exit status 0 when every
run was clean. Standard library plus the project's own virtualenv; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import submit  # bench/submit.py: one run
from _common import RESULTS, log
from _servers import raise_open_file_limit


def runs(args: argparse.Namespace) -> list[tuple[str, int, int, bool]]:
    """(database, raters, servers, restart) in the order they run: SQLite is one file on one
    host, so more than one app server is tried on PostgreSQL only; with ``--restart-db-at``,
    one more PostgreSQL run at the most raters on one server restarts the database midway."""
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    found = [(db, raters, servers, False) for db in databases
             for servers in (args.servers if db == "postgresql" else [1])
             for raters in args.concurrency]
    if args.restart_db_at is not None and "postgresql" in databases:
        found.append(("postgresql", max(args.concurrency), 1, True))
    return found


def one_run(db: str, raters: int, servers: int, restart: bool,
            args: argparse.Namespace) -> dict[str, Any]:
    run_args = argparse.Namespace(
        db=db, seconds=args.seconds, warmup=args.warmup, max_warmup=args.max_warmup,
        concurrency=raters, workers=args.workers, servers=servers, trainees=args.trainees,
        invitations=0, seed=args.seed, wait_idle=0.0, profile=False, profile_top=40,
        keep=False, restart_db_at=args.restart_db_at if restart else None)
    before = os.getloadavg()
    result = submit.bench_database(db, run_args)
    result["load_average"] = {"before": [round(v, 2) for v in before],
                              "after": [round(v, 2) for v in os.getloadavg()]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"submit-{db}{submit.result_suffix(run_args)}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    submit.print_report(result)
    return result


def row(db: str, raters: int, servers: int, result: dict[str, Any] | None) -> dict[str, Any]:
    if result is None:
        return {"database": db, "raters": raters, "servers": servers, "failed": True}
    restart = result.get("database_restart")
    latency = result["latency"]
    shared = result.get("shared_rate_limit")
    return {
        "database": db, "raters": raters, "servers": servers,
        "surveys_per_s": result["surveys_per_s"],
        "page_save_p95_ms": latency.get("page_save", {}).get("p95_ms"),
        "page_save_p99_ms": latency.get("page_save", {}).get("p99_ms"),
        "submit_p95_ms": latency.get("submit", {}).get("p95_ms"),
        "submit_p99_ms": latency.get("submit", {}).get("p99_ms"),
        "errors": result["errors"],
        "surveys": result["surveys_completed_total"],
        "exactly_once": result["integrity"]["ok"],
        "shared_limit": None if shared is None else shared["ok"],
        "warmup_s": result["warmup_seconds"],
        "load_average_1min_after": result["load_average"]["after"][0],
        "other_cores": result["cpu"]["other_processes_cores"],
        "database_restart": restart,
        # During a restart, a failed request is what is being measured, not a failed run.
        "failed": (bool(result["errors"]) and restart is None) or not result["integrity"]["ok"]
        or (shared is not None and not shared["ok"])
        or (restart is not None and not restart.get("restarted")),
    }


def print_table(rows: list[dict[str, Any]], seconds: float) -> None:
    print(f"\n== bench/load: {seconds:g} s measured per run, one run after another\n")
    header = (f"   {'database':<11}{'raters':>7}{'servers':>8}{'surveys/s':>10}"
              f"{'save p95':>9}{'p99':>7}{'submit p95':>11}{'p99':>7}{'errors':>7}"
              f"{'exactly once':>13}{'shared limit':>13}{'load avg':>9}")
    print(header)
    for r in rows:
        if r.get("surveys_per_s") is None:
            print(f"   {r['database']:<11}{r['raters']:>7}{r['servers']:>8}   run failed")
            continue
        shared = {None: "-", True: "yes", False: "NO"}[r["shared_limit"]]
        print(f"   {r['database']:<11}{r['raters']:>7}{r['servers']:>8}{r['surveys_per_s']:>10}"
              f"{submit.fmt(r['page_save_p95_ms']):>9}{submit.fmt(r['page_save_p99_ms']):>7}"
              f"{submit.fmt(r['submit_p95_ms']):>11}{submit.fmt(r['submit_p99_ms']):>7}"
              f"{r['errors']:>7}{'yes' if r['exactly_once'] else 'NO':>13}{shared:>13}"
              f"{r['load_average_1min_after']:>9}")
    print("   (latencies in ms; load avg: the machine's 1-minute load average as each run ended)",
          flush=True)
    for r in rows:
        if r.get("database_restart"):
            print(f"\n   {r['database']}, {r['raters']} raters, database restarted mid-run:",
                  *submit.restart_lines(r["database_restart"]), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--concurrency", default="32,200",
                        help="simulated raters of each run, comma-separated")
    parser.add_argument("--servers", default="1,2",
                        help="app servers of each PostgreSQL run, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--max-warmup", type=float, default=45.0,
                        help="open the window by then even if not every rater has finished "
                             "its first survey (200 raters queue for the workers)")
    parser.add_argument("--workers", type=int, default=2 * submit.cores() + 1,
                        help="gunicorn sync workers per server")
    parser.add_argument("--trainees", type=int, default=300)
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument("--restart-db-at", type=float, default=None, metavar="SECONDS",
                        help="add a PostgreSQL run (most raters, one server) whose database is "
                             "restarted this many seconds into the window")
    args = parser.parse_args(argv)
    try:
        args.concurrency = [int(v) for v in args.concurrency.split(",")]
        args.servers = [int(v) for v in args.servers.split(",")]
    except ValueError:
        parser.error("--concurrency and --servers take whole numbers, comma-separated")
    if args.seconds <= 0 or min(args.concurrency + args.servers + [args.workers]) < 1:
        parser.error("--seconds, --concurrency, --servers and --workers must be positive")
    def terminate(signum: int, _frame: Any) -> None:  # so every finally stops its servers
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    limit = raise_open_file_limit()
    if limit < 4 * max(args.concurrency) + 256:
        log(f"open-file limit {limit}: too low for {max(args.concurrency)} raters")
    rows = []
    for db, raters, servers, restart in runs(args):
        log(f"load: {db}, {raters} raters, {servers} server(s)"
            + (", database restarted midway" if restart else ""))
        try:
            result = one_run(db, raters, servers, restart, args)
        except Exception:  # report and carry on with the next run
            traceback.print_exc()
            result = None
        rows.append(row(db, raters, servers, result))
    print_table(rows, args.seconds)
    (RESULTS / "load.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if any(r["failed"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
