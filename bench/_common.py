"""Helpers shared by the benchmarks (``bench/submit.py``, ``bench/dashboard.py``,
``bench/cohort.py``).

Paths, the throwaway app configuration (production settings over plain HTTP), migrating a fresh
database with ``flask db upgrade``, the PostgreSQL cluster helper, CPU accounting from ``/proc``,
percentiles and a fingerprint of the code measured. Standard library only at import time; the
app is imported when it is used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MIGRATE_TIMEOUT = 180
SECRET_KEY = "feedback360-bench-" + secrets.token_hex(16)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Synthetic people and places.
SPECIALTIES = ("Medical Physics", "Clinical Biochemistry", "Genomics", "Audiology",
               "Cardiac Science", "Clinical Engineering", "Respiratory Physiology",
               "Histopathology", "Microbiology", "Neurophysiology")
SITES = ("Leeds General Infirmary", "Manchester Royal Infirmary", "Royal Preston Hospital",
         "St James's University Hospital", "Sheffield Northern General", "Bradford Royal Infirmary")
FIRST = ("Amara", "Ben", "Chloe", "Daniel", "Esther", "Farhan", "Grace", "Harriet", "Isaac",
         "Jasmine", "Kwame", "Lucy", "Mohammed", "Niamh", "Oliver", "Priya", "Rhys", "Sofia")
LAST = ("Okafor", "Hughes", "Williams", "Kowalski", "Mensah", "Ali", "Thompson", "Evans",
        "Patel", "Clarke", "Asante", "Morgan", "Khan", "Byrne", "Jones", "Shah", "Price", "Novak")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user+system) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _tree_cpu(root_pid: int | None, *, reaped: bool = False) -> float:
    """CPU seconds of a process and its live children (workers, PostgreSQL backends); with
    ``reaped``, also of the children it has already waited for (PostgreSQL's parallel query
    workers live for one query: their CPU then shows only in the postmaster's cutime)."""
    if root_pid is None:
        return 0.0
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat and (int(entry.name) == root_pid or stat[0] == root_pid):
            total += stat[1]
    if reaped:
        with contextlib.suppress(OSError, ValueError, IndexError):
            raw = Path(f"/proc/{root_pid}/stat").read_text()
            fields = raw[raw.rindex(")") + 2:].split()
            total += (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    return total


def _system_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    parts = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def _self_cpu() -> float:
    times = os.times()
    return times.user + times.system


def wait_until_idle(limit: float, threshold: float = 0.3, quiet_samples: int = 3) -> float:
    """Wait (at most ``limit`` seconds) until other processes have used under ``threshold``
    cores for ``quiet_samples`` two-second samples in a row; return the last sample."""
    deadline = time.monotonic() + limit
    quiet = 0
    reported = 0.0
    while True:
        busy0, total0 = _system_cpu()
        time.sleep(2.0)
        busy1, total1 = _system_cpu()
        busy = (busy1 - busy0) / max(total1 - total0, 1e-9) * cores()
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= quiet_samples or time.monotonic() >= deadline:
            return round(busy, 2)
        if busy >= threshold and time.monotonic() - reported > 30:
            log(f"machine busy ({busy:.2f} cores used by other processes); waiting")
            reported = time.monotonic()


def postmaster_pid(port: int) -> int | None:
    """The PostgreSQL postmaster listening on ``port`` (its command line names the port)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"postgres") and b"-p" in argv:
            with contextlib.suppress(ValueError, IndexError):
                if argv[argv.index(b"-p") + 1] == str(port).encode():
                    return int(entry.name)
    return None


def load_pg_cluster():
    spec = importlib.util.spec_from_file_location("pg_cluster", ROOT / "scripts" / "pg_cluster.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _quietly(function: Any, *args: Any) -> None:
    try:
        function(*args)
    except Exception as exc:  # clean-up must not hide the benchmark's own outcome
        log(f"clean-up: {function.__name__} failed: {exc}")


def app_environment(database_url: str) -> dict[str, str]:
    """What gunicorn and ``flask db upgrade`` run with: production settings over plain HTTP."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FEEDBACK360_", "MAIL_", "SESSION_COOKIE_", "RATELIMIT_"))}
    env.update({
        "FEEDBACK360_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "SESSION_COOKIE_SECURE": "0",  # the benchmark speaks plain HTTP on loopback
        "RATELIMIT_ENABLED": "0",  # 32 raters share one address
        "MAIL_BACKEND": "file",  # the survey sends no mail; never reach for an SMTP server
        "SERVER_BASE_URL": "http://127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    })
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "http_proxy",
                 "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(name, None)
    return env


def venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    candidate = ROOT / ".venv" / "bin" / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: run this with the project's .venv/bin/python")
    return found


def migrate(database_url: str) -> None:
    started = time.perf_counter()
    result = subprocess.run([venv_bin("flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                            env=app_environment(database_url), capture_output=True, text=True,
                            timeout=MIGRATE_TIMEOUT, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed ({result.returncode}):\n{result.stdout}\n"
                           f"{result.stderr}")
    log(f"migrated in {time.perf_counter() - started:.1f} s")


def make_app(database_url: str):
    from feedback360 import create_app

    return create_app({
        "FEEDBACK360_ENV": "production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": SECRET_KEY,
        "SESSION_COOKIE_SECURE": False,
        "RATELIMIT_ENABLED": False,
        "MAIL_BACKEND": "file",
        "SERVER_BASE_URL": "http://127.0.0.1",
    })


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = max(0, math.ceil(fraction * len(sorted_values)) - 1)
    return sorted_values[index]


def app_fingerprint(fingerprinted: tuple[str, ...]) -> dict[str, Any]:
    """Which code was measured (the app is edited while benchmarks run): git HEAD, one hash of
    every ``.py`` of feedback360/ and every template, and a hash of each of ``fingerprinted``
    (files or directories)."""
    import hashlib

    found: dict[str, Any] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found["git_head"] = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT,
                                           capture_output=True, text=True, timeout=10,
                                           check=False).stdout.strip()
    whole = hashlib.sha256()
    sources = [*(ROOT / "feedback360").rglob("*.py"), *(ROOT / "templates").rglob("*.html")]
    for file in sorted(sources):
        whole.update(file.relative_to(ROOT).as_posix().encode() + b"\0" + file.read_bytes())
    found["app_sha256_12"] = whole.hexdigest()[:12]  # every .py of feedback360/, every template
    files: dict[str, str] = {}
    for name in fingerprinted:
        path = ROOT / name
        for file in sorted(path.rglob("*") if path.is_dir() else [path]):
            if file.is_file() and file.suffix in (".py", ".html"):
                files[file.relative_to(ROOT).as_posix()] = hashlib.sha256(
                    file.read_bytes()).hexdigest()[:12]
    found["sha256_12"] = files
    return found


def run_each_database(choice: str, bench: Callable[[str], dict[str, Any]],
                      file_name: Callable[[str], str],
                      report: Callable[[str, dict[str, Any]], bool]) -> int:
    """Every benchmark's main loop: ``bench`` each database of ``choice`` (sqlite, postgresql or
    both), write its result as JSON to ``bench/results/<file_name(kind)>``, and ``report`` it
    (print; return whether the run failed). A database whose run raised is reported and the
    other still runs. Exit status 1 if anything failed.

    SIGTERM and SIGHUP become SystemExit, so every ``finally`` still stops gunicorn and the
    PostgreSQL cluster.
    """
    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = False
    for kind in ["sqlite", "postgresql"] if choice == "both" else [choice]:
        try:
            result = bench(kind)
        except Exception as exc:  # report and carry on with the other database
            traceback.print_exc()
            log(f"{kind}: benchmark failed: {type(exc).__name__}: {exc}")
            failed = True
            continue
        path = RESULTS / file_name(kind)
        path.write_text(json.dumps(result, indent=2) + "\n")
        failed = report(kind, result) or failed
        print(f"   results: {path.relative_to(ROOT)}", flush=True)
    return 1 if failed else 0
