"""PostgreSQL restarted in the middle of a ``bench/submit`` run (issue 11, point 7).

``pg_ctl restart -m fast`` drops every connection the app's workers hold, as a failover or a
package upgrade would. The app is not restarted and its pool's pre-ping stays off: what it must
do by itself is in ``feedback360/reconnect.py``. The run then reports how many requests failed
(a 5xx or a broken connection), between when and when, which steps they were, and whether every
successful submit is still exactly one response (``submit.integrity``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg


class DatabaseRestart:
    """Restarts the server behind ``database_url`` once, ``at`` seconds after ``arm()``."""

    def __init__(self, pg_cluster: Any, database_url: str, at: float) -> None:
        self.pg = pg_cluster
        self.at = at
        with psycopg.connect(pg_cluster.libpq_url(database_url), connect_timeout=10) as conn:
            self.data = Path(conn.execute("SHOW data_directory").fetchone()[0])
        self.started: float | None = None
        self.ended: float | None = None
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def arm(self, origin: float) -> None:
        self._thread = threading.Thread(target=self._restart, args=(origin + self.at,),
                                        name="pg-restart", daemon=True)
        self._thread.start()

    def _restart(self, when: float) -> None:
        time.sleep(max(0.0, when - time.perf_counter()))
        pg_ctl = self.pg.find_bindir() / "pg_ctl"
        self.started = time.perf_counter()
        result = self.pg._run(
            [str(pg_ctl), "-D", str(self.data), "-l", str(self.data.parent / "server.log"),
             "-m", "fast", "-w", "-t", "60", "restart"], cwd=self.data.parent,
            start_new_session=True)
        self.ended = time.perf_counter()
        if result.returncode != 0:
            self.error = result.stderr.strip()[-500:]

    def summary(self, failures: list[dict[str, Any]]) -> dict[str, Any]:
        """``failures``: the run's failed requests (``started``, ``seconds``, ``kind``,
        ``status``), timed on the same clock."""
        if self._thread is not None:
            self._thread.join(timeout=90)
        if self.started is None or self.ended is None:
            return {"restarted": False, "error": self.error or "the restart never ran"}
        ends = [f["started"] + f["seconds"] for f in failures]
        kinds: dict[str, int] = {}
        for failure in failures:
            kinds[failure["kind"]] = kinds.get(failure["kind"], 0) + 1
        return {
            "restarted": self.error is None,
            "error": self.error,
            "restart_seconds": round(self.ended - self.started, 2),
            "failed_requests": len(failures),
            "failed_by_step": kinds,
            "failed_statuses": sorted({f["status"] for f in failures}),
            # from the restart's start to the end of the last failed request
            "failures_within_seconds": round(max(ends) - self.started, 2) if ends else 0.0,
            "first_failure_after_seconds": round(min(f["started"] for f in failures)
                                                 - self.started, 2) if failures else None,
        }
