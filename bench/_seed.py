"""Seeding helpers shared by the benchmarks that fill a database in bulk (``bench/dashboard.py``,
``bench/cohort.py``).

* :class:`FreshDatabases`: fresh databases of one kind, SQLite files in a work directory or
  databases in a throwaway PostgreSQL cluster (or the one ``make bench PG=1`` started);
* :class:`Loader`: bulk inserts, Core ``executemany`` in chunks on SQLite, ``COPY`` on PostgreSQL;
* realistic answers: :func:`make_pattern` draws one cycle's responses from a simple model of a
  trainee and their raters, :func:`score_pattern` scores it with the app's own ``score_cycle``
  (the stored summary and its ``CycleScore`` rows), so many cycles can copy few scored patterns;
* :func:`spread`, :func:`database_size`.

The app is imported when these are used, not at import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import _quietly, load_pg_cluster, postmaster_pid

CHUNK = 20_000  # rows per executemany on SQLite


# ---------------------------------------------------------------------------------------------
# Fresh databases


class FreshDatabases:
    """Fresh, empty databases of one kind (``sqlite`` or ``postgresql``).

    PostgreSQL: the cluster ``make bench PG=1`` started (``DATABASE_URL``), else a throwaway one
    from ``scripts/pg_cluster.py``, stopped when ``stack`` closes; each database is dropped then
    too unless ``keep``. SQLite: files in ``workdir`` (the caller removes it).
    """

    def __init__(self, kind: str, workdir: Path, stack: contextlib.ExitStack, *,
                 keep: bool = False) -> None:
        self.kind, self.workdir, self.stack, self.keep = kind, workdir, stack, keep
        self.cluster_url = ""
        self.db_pid: int | None = None  # the postmaster, for CPU accounting
        if kind == "postgresql":
            self.pg = load_pg_cluster()
            given = os.environ.get("DATABASE_URL", "")
            if given.startswith("postgresql"):
                self.cluster_url = given
            else:
                self.cluster_url = stack.enter_context(self.pg.temporary_cluster())
            self.db_pid = postmaster_pid(urlsplit(self.cluster_url).port or 0)

    def create(self, name: str) -> tuple[str, str]:
        """(database URL, one line describing the database) for a new database ``name``."""
        if self.kind == "sqlite":
            path = self.workdir / f"{name}.sqlite"
            return (f"sqlite:///{path}",
                    f"SQLite {sqlite3.sqlite_version} (WAL), file in {self.workdir}")
        import psycopg

        database_url = self.pg.create_database(self.cluster_url, name, replace=True)
        if not self.keep:
            self.stack.callback(_quietly, self.pg.drop_database, self.cluster_url, name)
        with psycopg.connect(self.pg.libpq_url(database_url), connect_timeout=10) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        return database_url, f"PostgreSQL {version} (throwaway cluster, fsync off)"


def database_size(kind: str, database_url: str) -> int | None:
    """Bytes on disk (SQLite: the file with its WAL), or None if it cannot be told."""
    from feedback360.extensions import db

    with contextlib.suppress(Exception):
        if kind == "sqlite":
            path = Path(database_url.split("///", 1)[1])
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        return int(db.session.scalar(db.text("SELECT pg_database_size(current_database())")))
    return None


def spread(count: int, size: int) -> list[int]:
    """``size`` positions spread evenly over ``range(count)``."""
    size = min(size, count)
    return sorted({min(count - 1, (i * count) // size) for i in range(size)})


# ---------------------------------------------------------------------------------------------
# Bulk loading


class Loader:
    """Bulk inserts inside the caller's transaction; counts the rows written per table."""

    def __init__(self, kind: str, connection: Any) -> None:
        self.kind = kind
        self.connection = connection  # a SQLAlchemy Connection inside a transaction
        self.rows: Counter[str] = Counter()

    def load(self, table: Any, columns: list[str], rows: Iterable[tuple[Any, ...]], *,
             converted: bool = False) -> int:
        """Insert ``rows`` (tuples in ``columns`` order). On SQLite each value goes through its
        column type's bind processor (UUIDs, datetimes, JSON as the app stores them) unless
        ``converted`` says the rows already hold what the driver takes, which is much faster
        for millions of rows."""
        count = 0
        if self.kind == "postgresql":
            raw = self.connection.connection.driver_connection  # psycopg, same transaction
            statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            dialect = self.connection.dialect
            processors = [None if converted else
                          table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                          for name in columns]
            plain = all(p is None for p in processors)
            statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 (model names)
                         f"VALUES ({', '.join('?' for _ in columns)})")
            chunk: list[tuple[Any, ...]] = []
            for row in rows:
                chunk.append(row if plain else
                             tuple(v if p is None or v is None else p(v)
                                   for p, v in zip(processors, row, strict=True)))
                if len(chunk) >= CHUNK:
                    self.connection.exec_driver_sql(statement, chunk)
                    count += len(chunk)
                    chunk = []
            if chunk:
                self.connection.exec_driver_sql(statement, chunk)
                count += len(chunk)
        self.rows[table.name] += count
        return count

    def driver_value(self, table: Any, column: str) -> Any:
        """The function turning a Python value of ``table.column`` into what the driver takes
        on this database (identity on PostgreSQL, where COPY adapts values itself)."""
        if self.kind == "postgresql":
            return lambda value: value
        dialect = self.connection.dialect
        processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        return processor or (lambda value: value)


# ---------------------------------------------------------------------------------------------
# Realistic answers: "answer patterns" (one cycle's responses each)

# How often a group answers "not observed", by group, then by domain or element.
NOT_SEEN = {
    "supervisor": {"": 0.03}, "other": {"": 0.2},
    "senior": {"": 0.06, "managing-services": 0.12},
    "peer": {"": 0.06, "managing-services": 0.25, "setting-direction": 0.15},
    "nursing": {"": 0.08, "managing-services": 0.3, "setting-direction": 0.25},
    "ahp": {"": 0.06, "managing-services": 0.2, "setting-direction": 0.15},
    "management": {"": 0.12, "managing-services": 0.03, "improving-services": 0.15},
}
GROUP_BIAS = {"supervisor": -0.35, "senior": -0.25, "peer": 0.35, "nursing": 0.15, "ahp": 0.05,
              "management": -0.05, "other": 0.1}
# After the named supervisor and two seniors (the instruments' validity rule wants two senior
# colleagues), the other raters are drawn with these weights.
GROUP_WEIGHTS = {"senior": 1.2, "peer": 3.0, "nursing": 2.0, "ahp": 2.5, "management": 1.2,
                 "other": 0.6}
STRENGTHS = (
    "Always makes time to explain results to junior colleagues, even on the busiest days.",
    "Handles difficult conversations with patients and families calmly and kindly.",
    "Their audit of turnaround times changed how the whole department books samples.",
    "Chairs the weekly huddle well: everyone gets heard and decisions are written down.",
    "A reliable pair of hands. If they say they will do something, it gets done.",
    "Spots safety problems early and raises them through the right channels.",
    "Asks for feedback and clearly acts on it; I have seen real change over the year.",
    "Brings the multidisciplinary team together around what matters for the patient.",
    "Explains complex scientific findings in plain words at the MDT.",
    "Very approachable; nursing staff feel able to ask them anything.",
)
DEVELOPMENT = (
    "Could delegate more: they sometimes take on everything themselves and then run late.",
    "Would benefit from getting involved in service planning and the budget meetings.",
    "Occasionally quiet in larger meetings where their view would be valuable.",
    "Could share the outcomes of their improvement work more widely across the site.",
    "Sometimes focuses on the detail at the expense of the bigger picture for the service.",
    "Should seek out opportunities to lead a quality-improvement project from start to finish.",
    "Needs to push back more confidently when workload requests are unrealistic.",
    "More visible presence on the shop floor would help the team see their leadership.",
)


@dataclass
class Pattern:
    """One cycle's responses: raters' groups, everyone's answers (self last) and comments;
    once scored, what ``store_summary`` would store for a cycle holding them."""

    cycle_no: int
    groups: list[str]
    answers: list[list[int | None]]  # one row per rater, then the self-assessment
    comments: list[tuple[int, str, str]]  # (response index, prompt key, text)
    report_json: str = ""
    enough: bool = False
    responses_counted: int = 0
    # ``services.summaries.score_rows`` without the cycle id: (level, key, self_score,
    # others_mean, others_n)
    scores: list[tuple[str, str, float | None, float | None, int]] = field(default_factory=list)

    @property
    def raters(self) -> int:
        return len(self.groups)


def make_pattern(instrument: Any, rng: random.Random, cycle_no: int,
                 raters: int = 15) -> Pattern:
    """Scores from a simple model of a trainee (level, domain/element/item effects, a blind
    spot and a hidden strength), rater groups' leniency and noise, and "not observed" by group.
    ``cycle_no`` (0, 1, 2...) raises the trainee's level: later cycles, or later training
    years, score a little higher."""
    domains = [d.key for d in instrument.domains]
    blind, hidden = rng.sample(domains, 2)
    level = 3.4 + 0.15 * cycle_no + rng.gauss(0, 0.25)
    effect: dict[str, float] = {}

    def fx(key: str, sd: float) -> float:
        if key not in effect:
            effect[key] = rng.gauss(0, sd)
        return effect[key]

    items = list(instrument.item_keys)
    where = {i: (instrument.domain_of_item(i).key, instrument.element_of_item(i).key)
             for i in items}
    true = {i: level + fx(d, 0.3) + fx(e, 0.2) + fx(i, 0.15) - 0.5 * (d == blind)
            for i, (d, e) in where.items()}
    groups = ["supervisor", "senior", "senior",
              *rng.choices(list(GROUP_WEIGHTS), list(GROUP_WEIGHTS.values()),
                           k=raters - 3)][:raters]
    answers: list[list[int | None]] = []
    for group in groups:
        seen = NOT_SEEN[group]
        leniency = rng.gauss(0, 0.3)
        careless = rng.random() < 0.02  # now and then a response rates too little to count
        row: list[int | None] = []
        for item in items:
            domain, element = where[item]
            chance = 0.7 if careless else seen.get(element, seen.get(domain, seen[""]))
            if rng.random() < chance:
                row.append(None)
            else:
                value = true[item] + GROUP_BIAS[group] + leniency + rng.gauss(0, 0.55)
                row.append(min(5, max(1, round(value))))
        answers.append(row)
    self_bias = rng.gauss(-0.1, 0.2)
    answers.append([min(5, max(1, round(
        true[i] + self_bias + 1.3 * (where[i][0] == blind) - 1.1 * (where[i][0] == hidden)
        + rng.gauss(0, 0.35)))) for i in items])
    comments = []
    for index in range(raters):
        if rng.random() < 0.5:  # about half the raters write something
            if rng.random() < 0.9:
                comments.append((index, "strengths", " ".join(rng.sample(STRENGTHS,
                                                                        rng.randint(1, 2)))))
            if rng.random() < 0.6:
                comments.append((index, "development", " ".join(rng.sample(DEVELOPMENT,
                                                                          rng.randint(1, 2)))))
    return Pattern(cycle_no, groups, answers, comments)


def score_pattern(pattern: Pattern, instrument: Any, rules: Any) -> None:
    """What ``services.summaries.store_summary`` stores for every cycle holding this pattern's
    answers: the ``score_cycle`` report (as JSON) and its ``CycleScore`` rows."""
    import pandas as pd

    from feedback360.scoring import score_cycle
    from feedback360.services.summaries import ANSWER_COLUMNS, score_rows

    rows = []
    for index, row in enumerate(pattern.answers):
        is_self = index == pattern.raters
        group = None if is_self else pattern.groups[index]
        for item, score in zip(instrument.item_keys, row, strict=True):
            rows.append((f"r{index}", group, is_self, item,
                         float(score) if score is not None else float("nan")))
    frame = pd.DataFrame(rows, columns=ANSWER_COLUMNS)
    report = score_cycle(frame.astype({"score": "float64", "is_self": "bool"}), instrument,
                         rules)
    pattern.report_json = json.dumps(report.to_dict())
    pattern.enough = report.enough
    pattern.responses_counted = report.validity.responses
    pattern.scores = [(r["level"], r["key"], r["self_score"], r["others_mean"], r["others_n"])
                      for r in score_rows(0, report)]
