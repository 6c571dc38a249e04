"""cProfile for gunicorn workers: ``gunicorn --config bench/_profiling.py`` (``--profile``).

Each worker profiles its request loop from fork to exit and writes ``worker-<pid>.prof`` into
``$BENCH_PROFILE_DIR``; ``summarise`` merges the files into the top functions by own time and by
cumulative time. Profiling slows every call, so read it for where time goes, not for how much.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
from pathlib import Path

_profile: cProfile.Profile | None = None


def post_fork(server, worker):  # type: ignore[no-untyped-def]  # gunicorn server hook
    global _profile
    _profile = cProfile.Profile()
    _profile.enable()


def worker_exit(server, worker):  # type: ignore[no-untyped-def]  # gunicorn server hook
    if _profile is None:
        return
    _profile.disable()
    directory = Path(os.environ.get("BENCH_PROFILE_DIR", "."))
    directory.mkdir(parents=True, exist_ok=True)
    _profile.dump_stats(str(directory / f"worker-{os.getpid()}.prof"))


def summarise(directory: Path, top: int = 40) -> dict[str, object]:
    files = sorted(str(p) for p in Path(directory).glob("worker-*.prof"))
    if not files:
        return {"files": 0, "text": "profile: no worker profiles were written"}
    out = io.StringIO()
    stats = pstats.Stats(*files, stream=out)
    stats.strip_dirs()
    out.write(f"\n== profile of {len(files)} gunicorn workers, by own time\n")
    stats.sort_stats("tottime").print_stats(top)
    out.write("\n== by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(top)
    return {"files": len(files), "text": out.getvalue()}
