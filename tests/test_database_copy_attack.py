"""The attacker with a copy of the database (DESIGN.md, Anonymity rule 1; issue 9, point 2).

A cycle runs through the real pages over several simulated days (``time-machine``): raters
follow the emailed links, some save a draft one day and submit on another (on a new device),
two submit on the same day, one declines. Every day, and after ``flask close-due-cycles``, the
attacker takes everything a copy gives: on SQLite the live file and its ``-wal`` as raw bytes and
a backup through SQLite's backup API; on PostgreSQL ``pg_dump`` and every row with its system
columns (``xmin``, ``ctid``); on both, every table read in full.

Each linking heuristic is then tried as a *feature* of a response: what the copies say about
it (the snapshot it first appears in, its transaction, where it is stored, ...). A feature that
takes the same value for every response of the cycle cannot tell the raters of a group apart,
so the attacker does no better than guessing within the group: that is what each case asserts.
Before sealing, each of these features singled out every response.

The scenario runs once per test session and database; the parametrized cases read its copies.
"""

from __future__ import annotations

import importlib.util
import secrets
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from helpers import csrf_token
from test_survey import (
    PAGE_KEYS,
    RATERS,
    answer_all,
    launch_cycle,
    open_link,
    save_comments,
    save_page,
)

from feedback360.extensions import db
from feedback360.services import unsealing

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday
CLOSED = "closed"


def final_words(n: int) -> str:
    return f"Rater{n:02d} final words: calm and clear at handover."


def draft_words(n: int) -> str:
    return f"Rater{n:02d} draft words: still thinking."


# Day -> what each rater (by index in RATERS) does that day. Rater 9 declines; 2 and 6 save a
# draft one day and submit the next; 4 and 5 submit on the same day.
PLAN: dict[int, list[tuple[str, int]]] = {
    1: [("draft", 2), ("submit", 0)],
    2: [("submit", 2), ("submit", 4), ("submit", 5), ("draft", 6)],
    3: [("submit", 6), ("decline", 9), ("submit", 1), ("submit", 3)],
    4: [("submit", 7), ("submit", 8)],
}
SUBMITTERS = sorted(n for day in PLAN.values() for action, n in day if action == "submit")


@dataclass
class Copy:
    """Everything one copy of the database gives the attacker."""

    label: str  # "day 1" ... or CLOSED
    raw: bytes  # every byte: files, WAL, backup, dump, every table as text
    responses: dict[str, dict[str, Any]]  # readable rater responses by id: group, xmin
    comment_owner: dict[str, str]  # comment text -> response id
    sealed: dict[str, dict[str, Any]]  # sealed rows by id: length, xmin
    drafts: list[int]  # lengths of the invitations' drafts
    completed_xmins: set[str] = field(default_factory=set)
    cycle_xmin: str | None = None
    storage_order: list[str] = field(default_factory=list)  # "strengths" texts as stored
    wal_commit: dict[str, int] = field(default_factory=dict)  # text -> first WAL commit


@dataclass
class Scenario:
    backend: str
    copies: list[Copy]
    shuffled: list[str]  # the "strengths" texts in the order the close's shuffle drew
    truth: dict[str, int]  # response id -> rater index (from the final comment)

    @property
    def final(self) -> Copy:
        return self.copies[-1]


_scenarios: dict[str, Scenario] = {}


@pytest.fixture
def scenario(app, smtp, make_user, runner, db_backend, tmp_path, monkeypatch) -> Scenario:
    if db_backend not in _scenarios:
        _scenarios[db_backend] = run_scenario(app, smtp, make_user, runner, db_backend,
                                              tmp_path, monkeypatch)
    return _scenarios[db_backend]


def run_scenario(app, smtp, make_user, runner, backend, tmp_path, monkeypatch) -> Scenario:
    drawn: list[list[str]] = []

    class WatchedShuffle(secrets.SystemRandom):
        """The close's real CSPRNG shuffle, its outcome noted for the storage-order case."""

        def shuffle(self, x: list) -> None:  # type: ignore[override]
            super().shuffle(x)
            drawn.append([p["comments"]["strengths"] for p in x])

    monkeypatch.setattr(unsealing.secrets, "SystemRandom", WatchedShuffle)
    trainee = make_user("alex.trainee@nhs.net", name="Alex Trainee")
    copies = []
    with time_machine.travel(START, tick=False):
        launched = launch_cycle(app, smtp, trainee)
        copies.append(take_copy(app, backend, tmp_path, "day 0"))
    for day, actions in PLAN.items():
        with time_machine.travel(START + timedelta(days=day), tick=False):
            for action, n in actions:
                act(app, launched.links[RATERS[n][1]], action, n)
            copies.append(take_copy(app, backend, tmp_path, f"day {day}"))
    with time_machine.travel(START + timedelta(weeks=6, days=1), tick=False):
        closed = runner.invoke(args=["close-due-cycles"])
        assert closed.exit_code == 0 and "1 cycle(s) closed" in closed.output, closed.output
        copies.append(take_copy(app, backend, tmp_path, CLOSED))
    final = copies[-1]
    truth = {response: int(text[5:7]) for text, response in final.comment_owner.items()
             if text.startswith("Rater")}
    assert sorted(truth.values()) == SUBMITTERS  # every submitted response, exactly once
    [shuffled] = drawn
    return Scenario(backend, copies, shuffled, truth)


def act(app, link: str, action: str, n: int) -> None:
    browser = app.test_client()  # a new device each time: only the emailed link carries over
    open_link(browser, link)
    if action == "draft":
        save_page(browser, 1, dict.fromkeys(PAGE_KEYS[0], "3"))
        assert save_comments(browser, {"strengths": draft_words(n)},
                             action="later").status_code == 302
    elif action == "submit":
        answer_all(browser, str(1 + n % 5))
        assert save_comments(browser, {"strengths": final_words(n)}).status_code == 302
        review = browser.get("/survey/review")
        done = browser.post("/survey/submit", data={"csrf_token": csrf_token(review)})
        assert done.status_code == 302, done.text
    else:
        page = browser.get("/survey/decline")
        assert browser.post("/survey/decline", data={
            "csrf_token": csrf_token(page), "reason": "On leave"}).status_code == 302


# --- Taking copies ----------------------------------------------------------------------------

def take_copy(app, backend: str, tmp_path: Path, label: str) -> Copy:
    with app.app_context():
        if backend == "sqlite":
            raw, order, wal_commit = _sqlite_files(Path(db.engine.url.database), tmp_path, label)
        else:
            raw, order, wal_commit = _pg_dump(app.config["SQLALCHEMY_DATABASE_URI"]), [], {}
        system = backend == "postgresql"
        xmin = ", xmin::text" if system else ", NULL"
        run = db.session.execute
        responses = {str(r[0]): {"group": r[1], "xmin": r[2]} for r in run(sa.text(
            f"SELECT id, rater_group{xmin} FROM responses WHERE NOT is_self"))}  # noqa: S608
        owners = {text: str(rid) for rid, text in run(sa.text(
            "SELECT response_id, text FROM comments"))}
        sealed = {str(r[0]): {"length": r[1], "xmin": r[2]} for r in run(sa.text(
            f"SELECT id, length(sealed){xmin} FROM sealed_responses"))}  # noqa: S608
        drafts = list(run(sa.text(
            "SELECT length(draft) FROM invitations WHERE draft IS NOT NULL")).scalars())
        copy = Copy(label, raw + _every_table(), responses, owners, sealed, drafts,
                    storage_order=order, wal_commit=wal_commit)
        if system:
            copy.completed_xmins = set(run(sa.text(
                "SELECT xmin::text FROM invitations WHERE status = 'completed'")).scalars())
            copy.cycle_xmin = run(sa.text("SELECT xmin::text FROM feedback_cycles")).scalar()
            copy.storage_order = list(run(sa.text(
                "SELECT text FROM comments WHERE prompt_key = 'strengths' "
                "ORDER BY ctid")).scalars())
        db.session.rollback()
        return copy


def _every_table() -> bytes:
    """Every row of every table as text: what anyone reading the database sees."""
    tables = sa.inspect(db.engine).get_table_names()
    out = []
    for table in tables:
        for row in db.session.execute(sa.text(f'SELECT * FROM "{table}"')):  # noqa: S608
            out.append(repr(tuple(row)))
    return "\n".join(out).encode()


def _sqlite_files(live: Path, tmp_path: Path, label: str) -> tuple[bytes, list[str], dict]:
    """The live file and ``-wal`` byte for byte (as a file-level backup or a thief would copy
    them), then a backup through SQLite's backup API."""
    wal = Path(f"{live}-wal")
    live_bytes = live.read_bytes()
    wal_bytes = wal.read_bytes() if wal.exists() else b""
    backup = tmp_path / f"backup-{label.replace(' ', '-')}.sqlite"
    source, target = sqlite3.connect(live), sqlite3.connect(backup)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    backup_bytes = backup.read_bytes()
    # Cells sit in a page in insertion order, the first at the end: the order rows were written.
    texts = [final_words(n) for n in SUBMITTERS if final_words(n).encode() in backup_bytes]
    order = sorted(texts, key=lambda t: backup_bytes.rindex(t.encode()), reverse=True)
    wal_commit = {t: c for t in texts if (c := _first_wal_commit(wal_bytes, t)) is not None}
    return live_bytes + wal_bytes + backup_bytes, order, wal_commit


def _first_wal_commit(wal: bytes, text: str) -> int | None:
    """The number of the first transaction in the ``-wal`` whose pages hold ``text``: a WAL
    replays the database commit by commit."""
    if len(wal) < 32:
        return None
    page_size = int.from_bytes(wal[8:12], "big")
    salts = wal[16:24]
    commit, offset = 0, 32
    while offset + 24 + page_size <= len(wal):
        header, page = wal[offset:offset + 24], wal[offset + 24:offset + 24 + page_size]
        if header[8:16] != salts:  # a frame left over from before the WAL was restarted
            break
        if text.encode() in page:
            return commit
        if int.from_bytes(header[4:8], "big"):  # a commit frame ends a transaction
            commit += 1
        offset += 24 + page_size
    return None


def _pg_dump(url: str) -> bytes:
    spec = importlib.util.spec_from_file_location(
        "pg_cluster", Path(__file__).resolve().parent.parent / "scripts" / "pg_cluster.py")
    assert spec and spec.loader
    pg_cluster = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pg_cluster)
    try:
        pg_dump = pg_cluster.find_bindir() / "pg_dump"
    except RuntimeError:
        return b""
    dumped = subprocess.run([str(pg_dump), "--data-only", "-d", pg_cluster.libpq_url(url)],
                            capture_output=True, timeout=60, check=False)
    assert dumped.returncode == 0, dumped.stderr.decode()
    assert b"COPY public.invitations" in dumped.stdout
    return dumped.stdout


# --- The heuristics ---------------------------------------------------------------------------

def first_seen(s: Scenario) -> dict[str, Any]:
    """Daily backups: the copy each response first appears in, against the day each
    invitation completed."""
    return {rid: next(c.label for c in s.copies if rid in c.responses) for rid in s.truth}


def text_first_readable(s: Scenario) -> dict[str, Any]:
    """Raw bytes of the file, the WAL, a backup or a dump: the first copy holding the
    response's words anywhere."""
    return {rid: next(c.label for c in s.copies if final_words(n).encode() in c.raw)
            for rid, n in s.truth.items()}


def draft_beside_email(s: Scenario) -> dict[str, Any]:
    """A rater's in-progress answers on their invitation row: the first copy holding their
    draft's words (the same words later appear in no response, but the rest would match)."""
    return {rid: next((c.label for c in s.copies if draft_words(n).encode() in c.raw), None)
            for rid, n in s.truth.items()}


def same_transaction(s: Scenario) -> dict[str, Any]:
    """PostgreSQL: a response's ``xmin`` equal to the ``xmin`` of the invitation it completed.
    SQLite: the WAL transaction a response's words first appear in."""
    final = s.final
    if s.backend == "postgresql":
        assert not {r["xmin"] for r in final.responses.values()} & final.completed_xmins
        return {rid: final.responses[rid]["xmin"] for rid in s.truth}
    assert set(final.wal_commit) == {final_words(n) for n in SUBMITTERS}, "all in the WAL"
    return {rid: final.wal_commit[final_words(n)] for rid, n in s.truth.items()}


def storage_order(s: Scenario) -> dict[str, Any]:
    """Physical order (PostgreSQL ``ctid``, SQLite cells in a page): where each response is
    stored, less where the close's random shuffle put it. Zero for all: the order is the
    shuffle's, drawn at close, and nothing else."""
    stored = s.final.storage_order
    assert sorted(stored) == sorted(s.shuffled) == sorted(final_words(n) for n in SUBMITTERS)
    return {rid: stored.index(final_words(n)) - s.shuffled.index(final_words(n))
            for rid, n in s.truth.items()}


def ciphertext_length(s: Scenario) -> dict[str, Any]:
    """The length of every sealed blob (submitted answers and drafts) in every copy, which
    could otherwise be matched to the length of the comments written out at close."""
    lengths = {length for c in s.copies for length in c.drafts}
    lengths |= {row["length"] for c in s.copies for row in c.sealed.values()}
    assert lengths, "the copies held sealed rows and drafts"
    return {rid: frozenset(lengths) for rid in s.truth}


def sealed_row_followed(s: Scenario) -> dict[str, Any]:
    """A sealed row is paired with its invitation by when it appeared; does its id (or
    anything else) carry over to the response it becomes?"""
    sealed_ids = {rid for c in s.copies for rid in c.sealed}
    return {rid: rid in sealed_ids for rid in s.truth}


HEURISTICS: list[Callable[[Scenario], dict[str, Any]]] = [
    first_seen, text_first_readable, draft_beside_email, same_transaction, storage_order,
    ciphertext_length, sealed_row_followed,
]


@pytest.mark.parametrize("heuristic", HEURISTICS, ids=[h.__name__ for h in HEURISTICS])
def test_a_database_copy_links_no_response_to_its_rater(scenario, heuristic):
    features = heuristic(scenario)
    assert set(features) == set(scenario.truth)
    assert len(set(features.values())) == 1, (
        f"{heuristic.__name__} tells responses apart: "
        + ", ".join(f"rater {scenario.truth[r]} -> {v!r}" for r, v in sorted(
            features.items(), key=lambda item: scenario.truth[item[0]])))


def test_nothing_a_rater_wrote_is_readable_in_any_copy_before_close(scenario):
    for copy in scenario.copies[:-1]:
        assert not copy.responses, copy.label
        for n in range(len(RATERS)):
            for words in (final_words(n), draft_words(n)):
                assert words.encode() not in copy.raw, (copy.label, words)
    # The drafts' words never reach a readable row at all, even after close.
    assert not any(draft_words(n).encode() in scenario.final.raw for n in range(len(RATERS)))
    # After the close, every response is readable, in one transaction, and nothing is sealed.
    assert not scenario.final.sealed and not scenario.final.drafts
    assert len(scenario.final.responses) == len(SUBMITTERS)
    if scenario.backend == "postgresql":
        assert {r["xmin"] for r in scenario.final.responses.values()} == {
            scenario.final.cycle_xmin}
