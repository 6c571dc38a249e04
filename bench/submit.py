#!/usr/bin/env python3
"""Benchmark ``bench/submit``: simulated raters complete whole surveys against gunicorn.

For each database (SQLite file, throwaway PostgreSQL cluster) this script

1. creates a fresh database and migrates it (``flask --app wsgi db upgrade``);
2. seeds a synthetic cohort straight into the tables (trainees, one open "clcf" cycle each,
   enough sent invitations for every simulated rater to answer a fresh survey) and pre-computes
   each invitation's survey token with the app's own ``services.surveys.survey_token``;
3. starts ``gunicorn -w N`` (sync workers) on a free port of 127.0.0.1;
4. runs ``--concurrency`` simulated raters for ``--seconds`` (after a short ``--warmup``), each
   repeatedly taking a fresh link and doing what a browser does: open the link, welcome page,
   every domain page (GET, then POST the answers with the CSRF token), comments, review, submit,
   thank-you page;
5. reports completed surveys/s, requests/s, p50/p95/p99 latency of the page saves and of the final
   submit, errors, CPU used by the load generator, gunicorn and PostgreSQL, and checks the database:
   rater responses (sealed, as the cycles are open: opened to count their answers and comments;
   completed invitations) equal what the raters submitted.

Results go to ``bench/results/submit-<db>.json``. Exit status: 0 when every database ran without
errors and passed the integrity check, 1 otherwise; missing the speed aim is reported, not fatal.

Only 127.0.0.1 is ever contacted. Standard library plus the project's own virtualenv.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ (when imported, too)

from _common import (
    FIRST,
    LAST,
    ROOT,
    SITES,
    SPECIALTIES,
    _quietly,
    _self_cpu,
    _system_cpu,
    _tree_cpu,
    cores,
    load_pg_cluster,
    log,
    make_app,
    migrate,
    percentile,
    postmaster_pid,
    run_each_database,
    wait_until_idle,
)
from _servers import (
    ACCOUNT_LIMIT,
    HOST,
    Server,
    raise_open_file_limit,
    redis_server,
    sign_in_statuses,
)

AIM_SURVEYS_PER_S = 30.0
AIM_SUBMIT_P95_MS = 100.0
TARGET_SURVEYS_PER_S = 60.0  # invitations are sized for twice the aim, times 1.5
REQUEST_TIMEOUT = 30.0
INSTRUMENT = "clcf"
# start, welcome, 5 x (page GET + POST), comments GET + POST, review, submit, thanks
REQUESTS_PER_SURVEY = 17

# ---------------------------------------------------------------------------------------------
# CPU accounting from /proc (Linux): who used the two cores during the measured window


@dataclass
class CpuSample:
    at: float
    client: float
    server: float
    database: float
    busy: float
    total: float


def cpu_sample(server_pids: list[int], db_pid: int | None) -> CpuSample:
    busy, total = _system_cpu()
    return CpuSample(time.perf_counter(), _self_cpu(), sum(map(_tree_cpu, server_pids)),
                     _tree_cpu(db_pid), busy, total)


def cpu_report(first: CpuSample, last: CpuSample) -> dict[str, float]:
    wall = max(last.at - first.at, 1e-9)
    n = cores()
    client = (last.client - first.client) / wall
    server = (last.server - first.server) / wall
    database = (last.database - first.database) / wall
    machine = (last.busy - first.busy) / max(last.total - first.total, 1e-9) * n
    return {
        "cores": n,
        "load_generator_cores": round(client, 2),
        "gunicorn_cores": round(server, 2),
        "postgresql_cores": round(database, 2),
        "machine_busy_cores": round(machine, 2),
        "other_processes_cores": round(max(machine - client - server - database, 0.0), 2),
    }


# ---------------------------------------------------------------------------------------------
# Synthetic data


# How a cycle's raters spread over the instrument's groups (one named supervisor each).
RATERS_PER_CYCLE = 15
GROUP_MIX = ("senior", "senior", "senior", "peer", "peer", "peer", "peer", "nursing", "nursing",
             "ahp", "ahp", "management", "other")


@dataclass
class Seeded:
    cohorts: int
    trainees: int
    cycles: int
    invitations: int
    tokens: list[str]
    seconds: float

    def describe(self) -> str:
        return (f"{self.cohorts} cohorts, {self.trainees} trainees, {self.cycles} open "
                f"'{INSTRUMENT}' cycles, {self.invitations} sent invitations "
                f"(~{self.invitations // max(self.cycles, 1)} raters per cycle)")


def seed(database_url: str, *, trainees: int, invitations: int, rng: random.Random) -> Seeded:
    """Insert the synthetic cohort with executemany; return the survey tokens, shuffled."""
    from sqlalchemy import insert, select

    from feedback360.extensions import db
    from feedback360.instruments import load_directory, snapshot
    from feedback360.models import Cohort, FeedbackCycle, Invitation, User
    from feedback360.services.surveys import survey_token

    started = time.perf_counter()
    app = make_app(database_url)
    now = datetime.now(UTC)
    today = now.date()
    with app.app_context():
        instrument = load_directory(app.config["INSTRUMENTS_DIR"])[INSTRUMENT]
        version = snapshot(instrument)
        cohort_count = max(1, math.ceil(trainees / 50))
        db.session.execute(insert(Cohort), [
            {"name": f"Bench STP {2020 + i} {SPECIALTIES[i % len(SPECIALTIES)]}",
             "programme": "Scientist Training Programme", "intake_year": 2020 + i}
            for i in range(cohort_count)])
        cohort_ids = list(db.session.scalars(select(Cohort.id).order_by(Cohort.id)))
        db.session.execute(insert(User), [
            {"email": f"trainee{n:05d}@bench.feedback360.invalid",
             "name": f"{FIRST[n % len(FIRST)]} {LAST[(n * 7) % len(LAST)]}",
             "password_hash": None, "role": "trainee", "active": True,
             "session_nonce": secrets.token_hex(16), "cohort_id": cohort_ids[n % cohort_count],
             "specialty": SPECIALTIES[n % len(SPECIALTIES)], "training_year": 1 + n % 3,
             "site": SITES[n % len(SITES)]}
            for n in range(trainees)])
        trainee_ids = list(db.session.scalars(
            select(User.id).where(User.role == "trainee").order_by(User.id)))
        # About RATERS_PER_CYCLE colleagues asked per cycle, as in life; with few invitations
        # (short runs) only some trainees have a cycle open.
        cycle_count = min(len(trainee_ids), max(1, math.ceil(invitations / RATERS_PER_CYCLE)))
        db.session.execute(insert(FeedbackCycle), [
            {"trainee_id": trainee_id, "instrument_version_id": version.id,
             "title": f"{instrument.title} {today.year}", "status": "open",
             "opens_on": today - timedelta(days=7), "closes_on": today + timedelta(days=35),
             "opened_at": now - timedelta(days=7)}
            for trainee_id in trainee_ids[:cycle_count]])
        cycle_ids = list(db.session.scalars(select(FeedbackCycle.id).order_by(FeedbackCycle.id)))
        rows = []
        for n in range(invitations):
            cycle_id = cycle_ids[n % len(cycle_ids)]
            slot = n // len(cycle_ids)
            group = "supervisor" if slot == 0 else GROUP_MIX[(slot + cycle_id) % len(GROUP_MIX)]
            rows.append({
                "cycle_id": cycle_id, "rater_email": f"rater{n:06d}@bench.feedback360.invalid",
                "rater_identity": f"rater{n:06d}@bench.feedback360.invalid",
                "rater_name": f"{FIRST[(n * 5) % len(FIRST)]} {LAST[(n * 11) % len(LAST)]}",
                "rater_group": group, "status": "sent", "token_nonce": secrets.token_hex(16),
                "sent_count": 1, "reminded_count": 0, "last_sent_at": now - timedelta(days=7)})
        for start in range(0, len(rows), 2000):
            db.session.execute(insert(Invitation), rows[start:start + 2000])
        db.session.commit()
        tokens = [survey_token(invitation) for invitation in db.session.scalars(
            select(Invitation).where(Invitation.status == "sent"))]
        db.session.remove()
        db.engine.dispose()
    rng.shuffle(tokens)  # concurrent raters answer for different trainees, as in life
    return Seeded(cohort_count, trainees, len(cycle_ids), invitations, tokens,
                  time.perf_counter() - started)


def database_counts(database_url: str) -> dict[str, int]:
    """What the raters' submits left: the cycles are open, so their answers are sealed rows,
    opened here as the app opens them to count answers and comments."""
    from sqlalchemy import func, select

    from feedback360 import sealing
    from feedback360.extensions import db
    from feedback360.models import Invitation, SealedResponse

    app = make_app(database_url)
    with app.app_context():
        count = lambda query: int(db.session.scalar(query))  # noqa: E731
        opened = [sealing.unseal(blob, purpose=sealing.SUBMITTED, owner=cycle_id)
                  for cycle_id, blob in db.session.execute(
                      select(SealedResponse.cycle_id, SealedResponse.sealed))]
        found = {
            "responses": len(opened),
            "answers": sum(len(p["answers"]) for p in opened),
            "not_observed_answers": sum(list(p["answers"].values()).count("na")
                                        for p in opened),
            "comments": sum(len(p["comments"]) for p in opened),
            "completed_invitations": count(select(func.count()).select_from(Invitation)
                                           .where(Invitation.status == "completed")),
            "completed_with_draft": count(select(func.count()).select_from(Invitation)
                                          .where(Invitation.status == "completed",
                                                 Invitation.draft.is_not(None))),
        }
        db.session.remove()
        db.engine.dispose()
    return found


# ---------------------------------------------------------------------------------------------
# (gunicorn, redis-server: bench/_servers.py)


# ---------------------------------------------------------------------------------------------
# The simulated rater: a tiny browser (one connection, a cookie jar, forms by regex)


FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT_RE = re.compile(r"<input\b([^>]*)>", re.I)
TEXTAREA_RE = re.compile(r"<textarea\b([^>]*)>", re.I)
BUTTON_RE = re.compile(r"<button\b([^>]*)>(.*?)</button>", re.S | re.I)
ATTR_RE = re.compile(r"""([a-zA-Z_:][-\w:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
HREF_RE = re.compile(r"""href="(/survey/page/\d+)\"""")
TAG_RE = re.compile(r"<[^>]+>")


def attrs(text: str) -> dict[str, str]:
    return {m.group(1).lower(): unescape(m.group(2) or m.group(3) or m.group(4) or "")
            for m in ATTR_RE.finditer(text)}


@dataclass
class Form:
    action: str
    method: str
    hidden: dict[str, str]
    radios: dict[str, list[str]]
    textareas: list[str]
    buttons: list[tuple[str, str, str]]  # (name, value, visible text)


def forms_of(html: str, page_path: str) -> list[Form]:
    found = []
    for form_match in FORM_RE.finditer(html):
        form_attrs = attrs(form_match.group(1))
        body = form_match.group(2)
        hidden: dict[str, str] = {}
        radios: dict[str, list[str]] = defaultdict(list)
        for input_match in INPUT_RE.finditer(body):
            a = attrs(input_match.group(1))
            name, kind = a.get("name"), a.get("type", "text").lower()
            if not name:
                continue
            if kind == "radio":
                radios[name].append(a.get("value", "on"))
            elif kind == "hidden":
                hidden[name] = a.get("value", "")
        textareas = [attrs(m.group(1)).get("name", "") for m in TEXTAREA_RE.finditer(body)]
        buttons = []
        for button_match in BUTTON_RE.finditer(body):
            a = attrs(button_match.group(1))
            text = " ".join(unescape(TAG_RE.sub("", button_match.group(2))).split())
            buttons.append((a.get("name", ""), a.get("value", ""), text))
        found.append(Form(action=form_attrs.get("action") or page_path,
                          method=form_attrs.get("method", "get").lower(), hidden=hidden,
                          radios=dict(radios), textareas=[t for t in textareas if t],
                          buttons=buttons))
    return found


class ProtocolError(Exception):
    """The server answered, but not as a working survey would (wrong status, missing form)."""


@dataclass
class Sample:
    kind: str
    started: float
    seconds: float
    status: int


@dataclass
class RaterStats:
    samples: list[Sample] = field(default_factory=list)
    submits: list[float] = field(default_factory=list)  # completion times of good submits
    errors: list[str] = field(default_factory=list)
    answers: int = 0
    not_observed: int = 0
    comments: int = 0
    abandoned: int = 0
    out_of_tokens: bool = False
    by_port: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # requests sent


class Browser:
    """One phone: a cookie jar and a keep-alive connection per app server. With several servers
    its requests go to each in turn, as a round-robin proxy sends them, so every session and
    CSRF token made on one server is used on another; all of them see the proxy's one origin
    (the first server's address) in Host, Origin and Referer."""

    def __init__(self, port: int | list[int], stats: RaterStats):
        self.ports = [port] if isinstance(port, int) else list(port)
        self.port = self.ports[0]
        self.stats = stats
        self.conns: dict[int, http.client.HTTPConnection] = {}
        self.turn = 0
        self.cookies: dict[str, str] = {}

    def close(self, port: int | None = None) -> None:
        for each in self.ports if port is None else [port]:
            conn = self.conns.pop(each, None)
            if conn is not None:
                conn.close()

    def request(self, kind: str, method: str, path: str,
                fields: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, Location path, body text). Any exception or 4xx/5xx is a ProtocolError."""
        if not path.startswith("/"):
            raise ProtocolError(f"refusing to follow a non-local URL {path!r}")
        headers = {"Host": f"{HOST}:{self.port}", "User-Agent": "feedback360-bench",
                   "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://{HOST}:{self.port}"
            headers["Referer"] = f"http://{HOST}:{self.port}{path}"
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        self.stats.by_port[port] += 1
        started = time.perf_counter()
        try:
            conn = self.conns.get(port)
            if conn is None:
                conn = self.conns[port] = http.client.HTTPConnection(
                    HOST, port, timeout=REQUEST_TIMEOUT)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            status = response.status
            if response.will_close:
                self.close(port)
        except (OSError, http.client.HTTPException) as exc:
            self.close(port)
            self.stats.samples.append(Sample(kind, started, time.perf_counter() - started, 0))
            raise ProtocolError(f"{method} {kind}: {type(exc).__name__}: {exc}") from exc
        elapsed = time.perf_counter() - started
        self.stats.samples.append(Sample(kind, started, elapsed, status))
        for header in response.headers.get_all("Set-Cookie") or []:
            pair, _, rest = header.partition(";")
            name, _, value = pair.strip().partition("=")
            rest = rest.lower()
            if not value or "max-age=0" in rest or "expires=thu, 01 jan 1970" in rest:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if status >= 400:
            raise ProtocolError(f"{method} {kind}: HTTP {status}")
        location = urlsplit(response.headers.get("Location", ""))
        if location.netloc and location.hostname not in (HOST, None):
            raise ProtocolError(f"{method} {kind}: redirect off this host: {location.netloc}")
        where = location.path + (f"?{location.query}" if location.query else "")
        return status, where, data.decode("utf-8", "replace")


COMMENT_WORDS = (
    "listens carefully at handover", "explains the reasoning behind decisions",
    "could delegate more to the team", "handles pressure calmly",
    "would benefit from leading the audit meeting", "always follows up on actions",
    "sometimes interrupts colleagues in meetings", "shares learning from incidents",
    "asks good questions of senior staff", "keeps patients at the centre of every discussion",
    "could give clearer feedback to students", "volunteers for improvement projects",
)


class Rater:
    """Completes surveys one after another with the links it takes from the shared pool."""

    def __init__(self, port: int | list[int], tokens: list[str], lock: threading.Lock,
                 clock: Clock, seed_value: int):
        self.stats = RaterStats()
        self.browser = Browser(port, self.stats)
        self.tokens, self.lock, self.clock = tokens, lock, clock
        self.rng = random.Random(seed_value)
        self.first_survey_seconds = 0.0
        self.staggered = False  # True once this rater has made its one random pause (or ended)

    def run(self, delay: float = 0.0) -> None:
        time.sleep(delay)  # raters arrive one by one
        first = True
        while time.perf_counter() < self.clock.stop_at:
            if not first and not self.staggered:
                # Once only, after the first survey: pause for a random part of how long it took,
                # so the raters end up evenly out of step and completions arrive steadily.
                time.sleep(self.rng.uniform(0, min(self.first_survey_seconds, 30.0)))
                self.staggered = True
            first = False
            started = time.perf_counter()
            with self.lock:
                token = self.tokens.pop() if self.tokens else None
            if token is None:
                self.stats.out_of_tokens = True
                break
            try:
                self.survey(token)
            except ProtocolError as exc:
                self.stats.errors.append(str(exc))
                self.stats.abandoned += 1
            except Exception as exc:  # never let one rater's surprise end the run silently
                self.stats.errors.append(f"{type(exc).__name__}: {exc}")
                self.stats.abandoned += 1
            if not self.first_survey_seconds:
                self.first_survey_seconds = time.perf_counter() - started
        self.staggered = True
        self.browser.close()

    def expect(self, got: tuple[int, str, str], status: int, where: str | None = None) -> str:
        if got[0] != status or (where is not None and not got[1].startswith(where)):
            raise ProtocolError(f"expected {status} {where or ''}, got {got[0]} {got[1]!r}")
        return got[1] if status in (301, 302, 303) else got[2]

    def pick_form(self, html: str, path: str, action_part: str) -> Form:
        for form in forms_of(html, path):
            if form.method == "post" and action_part in form.action:
                return form
        raise ProtocolError(f"no POST form for {action_part!r} on {path}")

    def fields(self, form: Form) -> dict[str, str]:
        fields = dict(form.hidden)
        if "csrf_token" not in fields:
            raise ProtocolError(f"no csrf_token in the form for {form.action}")
        named = [b for b in form.buttons if b[0]]
        if named:  # the "Save and continue" button, if the form names its buttons
            choice = next((b for b in named if "continue" in (b[1] + b[2]).lower()), named[0])
            fields[choice[0]] = choice[1]
        return fields

    def survey(self, token: str) -> None:
        browser = self.browser
        browser.cookies.clear()  # each link is a different colleague on a different phone
        rng = self.rng
        leniency = rng.choice((0, 1, 1, 2))  # how generous this rater is
        na_rate = rng.choice((0.0, 0.05, 0.1, 0.2))
        location = self.expect(browser.request("start", "GET", f"/s/{token}"), 302, "/survey")
        html = self.expect(browser.request("welcome", "GET", location), 200)
        match = HREF_RE.search(html)
        if match:
            page = match.group(1)
        else:  # the welcome page may start the survey with a form instead of a link
            form = self.pick_form(html, location, "/survey")
            page = self.expect(browser.request("welcome_post", "POST", form.action,
                                               self.fields(form)), 302, "/survey/page/")
        answers = not_observed = 0
        while page.startswith("/survey/page/"):
            html = self.expect(browser.request("page_get", "GET", page), 200)
            form = self.pick_form(html, page, "/survey/page/")
            if not form.radios:
                raise ProtocolError(f"no questions on {page}")
            fields = self.fields(form)
            for name, values in form.radios.items():
                scores = [v for v in values if v.isdigit()]
                if "na" in values and rng.random() < na_rate:
                    fields[name] = "na"
                    not_observed += 1
                else:
                    fields[name] = scores[min(len(scores) - 1,
                                              max(0, 1 + leniency + rng.randint(0, 2)))]
                answers += 1
            page = self.expect(browser.request("page_save", "POST", form.action, fields), 302)
        if not page.startswith("/survey/comments"):
            raise ProtocolError(f"after the last page expected /survey/comments, got {page!r}")
        html = self.expect(browser.request("comments_get", "GET", page), 200)
        form = self.pick_form(html, page, "/survey/comments")
        fields = self.fields(form)
        comments = 0
        for name in form.textareas:
            if rng.random() < 0.75:
                fields[name] = "; ".join(rng.sample(COMMENT_WORDS, rng.randint(1, 4))).capitalize()
                comments += 1
            else:
                fields[name] = ""
        review = self.expect(browser.request("comments_save", "POST", form.action, fields), 302,
                             "/survey/review")
        html = self.expect(browser.request("review", "GET", review), 200)
        form = self.pick_form(html, review, "/survey/submit")
        thanks = self.expect(browser.request("submit", "POST", form.action, self.fields(form)),
                             302, "/survey/thanks")
        self.stats.submits.append(time.perf_counter())
        self.stats.answers += answers
        self.stats.not_observed += not_observed
        self.stats.comments += comments
        self.expect(browser.request("thanks", "GET", thanks), 200)


# ---------------------------------------------------------------------------------------------
# One run


def latency_summary(values: list[float]) -> dict[str, Any]:
    values = sorted(values)
    ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
    return {"count": len(values), "p50_ms": ms(percentile(values, 0.50)),
            "p95_ms": ms(percentile(values, 0.95)), "p99_ms": ms(percentile(values, 0.99)),
            "max_ms": ms(values[-1] if values else None),
            "mean_ms": ms(sum(values) / len(values) if values else None)}


class Clock:
    """When raters stop starting new surveys; set once the measured window is known."""

    def __init__(self) -> None:
        self.stop_at = math.inf


def run_load(ports: list[int], tokens: list[str], *, concurrency: int, warmup: float,
             max_warmup: float, seconds: float, server_pids: list[int], db_pid: int | None,
             seed_value: int, at_window_start: Any = None) -> dict[str, Any]:
    """Closed loop: ``concurrency`` raters, each starting a new survey as soon as one ends.

    Raters arrive evenly over the first ``warmup`` seconds (at most 10), and after their first
    survey each pauses once for a random part of the time it took, so they end up evenly out of
    step, as real ones are, and completions arrive at a steady rate. The window opens after
    ``warmup`` seconds and once every rater has made that pause, or after ``max_warmup`` seconds
    at most. Surveys still running when it closes are finished (the
    database check stays exact) but only what happened inside the window is timed.
    """
    lock = threading.Lock()
    clock = Clock()
    begin = time.perf_counter()
    raters = [Rater(ports, tokens, lock, clock, seed_value + n) for n in range(concurrency)]
    ramp = min(warmup, 10.0)
    threads = [threading.Thread(target=r.run, args=(ramp * n / concurrency,), name=f"rater-{n}",
                                daemon=True)
               for n, r in enumerate(raters)]
    for thread in threads:
        thread.start()
    while True:
        now = time.perf_counter()
        pipeline_full = all(r.staggered for r in raters)
        if now - begin >= max_warmup or (now - begin >= warmup and pipeline_full):
            break
        if not any(thread.is_alive() for thread in threads):
            break
        time.sleep(0.05)
    window_start = time.perf_counter()
    window_end = window_start + seconds
    if at_window_start is not None:  # e.g. a database restart timed from here
        at_window_start(window_start)
    clock.stop_at = window_end
    warmup_used = window_start - begin
    cpu_first = cpu_sample(server_pids, db_pid)
    time.sleep(max(0.0, window_end - time.perf_counter()))
    cpu_last = cpu_sample(server_pids, db_pid)
    # In-flight surveys finish (so the database check is exact); no new ones start.
    hard_deadline = time.perf_counter() + REQUEST_TIMEOUT * 20
    for thread in threads:
        thread.join(timeout=max(0.1, hard_deadline - time.perf_counter()))
    stuck = sum(thread.is_alive() for thread in threads)
    finished = time.perf_counter()

    in_window = lambda t: window_start <= t < window_end  # noqa: E731
    by_kind: dict[str, list[float]] = defaultdict(list)
    requests = 0
    all_requests = 0
    for rater in raters:
        for sample in rater.stats.samples:
            all_requests += 1
            if in_window(sample.started):
                by_kind[sample.kind].append(sample.seconds)
            if in_window(sample.started + sample.seconds):
                requests += 1
    submits_window = sum(1 for r in raters for t in r.stats.submits if in_window(t))
    submits_total = sum(len(r.stats.submits) for r in raters)
    errors = [e for r in raters for e in r.stats.errors]
    per_second = defaultdict(int)
    for rater in raters:
        for t in rater.stats.submits:
            if in_window(t):
                per_second[int(t - window_start)] += 1
    timeline = [per_second.get(s, 0) for s in range(int(seconds))]
    all_samples = [s.seconds for r in raters for s in r.stats.samples if in_window(s.started)]
    cpu = cpu_report(cpu_first, cpu_last)
    # CPU time per survey's worth of requests: unlike the rates, this hardly depends on what
    # else the machine is doing, so it says what two idle cores could do.
    work = requests / seconds / REQUESTS_PER_SURVEY
    per_survey = {name: round(cpu[f"{name}_cores"] * 1000 / work, 1) if work else None
                  for name in ("gunicorn", "postgresql", "load_generator")}
    used = sum(v for v in per_survey.values() if v)
    return {
        "window_seconds": seconds,
        "warmup_seconds": round(warmup_used, 1),
        "tail_seconds": round(finished - window_end, 2),
        "concurrency": concurrency,
        "surveys_per_s": round(submits_window / seconds, 2),
        "requests_per_s": round(requests / seconds, 1),
        "requests_per_survey": round(all_requests / max(submits_total, 1), 1),
        # Work done, whether or not the survey it belongs to ended inside the window.
        "survey_equivalents_per_s": round(requests / seconds / REQUESTS_PER_SURVEY, 2),
        "surveys_completed_in_window": submits_window,
        "surveys_completed_total": submits_total,
        "requests_total": all_requests,
        "requests_per_server": [sum(r.stats.by_port[port] for r in raters) for port in ports],
        "latency": {kind: latency_summary(values) for kind, values in sorted(by_kind.items())},
        "latency_all_requests": latency_summary(all_samples),
        "errors": len(errors) + stuck,
        "error_samples": sorted(set(errors))[:20] + ([f"{stuck} rater threads stuck"]
                                                      if stuck else []),
        "abandoned_surveys": sum(r.stats.abandoned for r in raters),
        "ran_out_of_links": any(r.stats.out_of_tokens for r in raters),
        "submitted_answers": sum(r.stats.answers for r in raters),
        "submitted_not_observed": sum(r.stats.not_observed for r in raters),
        "submitted_comments": sum(r.stats.comments for r in raters),
        "surveys_per_second_timeline": timeline,
        # A refused connection counts as status 0; a 4xx is the survey's own business.
        "failed_requests": [{"started": s.started, "seconds": s.seconds, "kind": s.kind,
                             "status": s.status}
                            for r in raters for s in r.stats.samples
                            if s.status == 0 or s.status >= 500],
        "cpu": cpu,
        "cpu_ms_per_survey": per_survey,
        "projected_surveys_per_s_on_idle_cores": round(cpu["cores"] * 1000 / used, 1)
        if used else None,
    }


def integrity(load: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    expected = {
        "responses": load["surveys_completed_total"],
        "completed_invitations": load["surveys_completed_total"],
        "answers": load["submitted_answers"],
        "not_observed_answers": load["submitted_not_observed"],
        "comments": load["submitted_comments"],
        "completed_with_draft": 0,
    }
    problems = [f"{name}: database has {counts[name]}, raters submitted {value}"
                for name, value in expected.items() if counts[name] != value]
    return {"ok": not problems, "expected": expected, "found": counts, "problems": problems}


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    invitations = args.invitations or (
        math.ceil(TARGET_SURVEYS_PER_S * (args.seconds + args.warmup + 10) * 1.5)
        + 2 * args.concurrency)
    workdir = Path(tempfile.mkdtemp(prefix=f"feedback360-bench-{kind}-"))
    stack = contextlib.ExitStack()
    servers: list[Server] = []
    try:
        db_pid = None
        if kind == "sqlite":
            database_url = f"sqlite:///{workdir / 'bench.sqlite'}"
            version = __import__("sqlite3").sqlite_version
            db_label = f"SQLite {version} (WAL), file in {workdir}"
        else:
            pg = load_pg_cluster()
            given = os.environ.get("DATABASE_URL", "")
            if given.startswith("postgresql"):  # `make bench PG=1` started a cluster for us
                cluster_url = given
            else:
                cluster_url = stack.enter_context(pg.temporary_cluster())
            database_url = pg.create_database(cluster_url, "feedback360_bench", replace=True)
            stack.callback(_quietly, pg.drop_database, cluster_url, "feedback360_bench")
            db_pid = postmaster_pid(urlsplit(cluster_url).port or 0)
            import psycopg

            with psycopg.connect(pg.libpq_url(database_url), connect_timeout=10) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
            db_label = f"PostgreSQL {version} (throwaway cluster, fsync off)"
        log(f"{kind}: {db_label}")
        migrate(database_url)
        seeded = seed(database_url, trainees=args.trainees, invitations=invitations, rng=rng)
        log(f"{kind}: seeded {seeded.describe()} in {seeded.seconds:.1f} s")
        extra_args: list[str] = []
        extra_env: dict[str, str] = {}
        if args.profile:
            extra_args = ["--config", str(ROOT / "bench" / "_profiling.py")]
            extra_env = {"BENCH_PROFILE_DIR": str(workdir / "profiles")}
        if args.servers > 1:  # the production topology: their rate limits shared in Redis
            redis_uri = stack.enter_context(redis_server(workdir))
            extra_env |= {"RATELIMIT_STORAGE_URI": redis_uri, "RATELIMIT_ENABLED": "1",
                          # Raters share one address: only the per-account count can trip.
                          "LOGIN_RATE_LIMIT": "100000 per minute",
                          "LOGIN_ACCOUNT_LIMIT": f"{ACCOUNT_LIMIT} per 15 minutes"}
            log(f"{kind}: redis-server at {redis_uri}")
        busy_before = wait_until_idle(args.wait_idle) if args.wait_idle else None
        servers = [Server(database_url, args.workers, workdir, extra_args, extra_env,
                          name=f"gunicorn-{n + 1}") for n in range(args.servers)]
        for server in servers:
            server.start()
        log(f"{kind}: {args.servers} x gunicorn -w {args.workers} on "
            f"{', '.join(f'{HOST}:{server.port}' for server in servers)}; "
            f"{args.concurrency} raters for {args.warmup:g}+{args.seconds:g} s")
        restart = None
        if getattr(args, "restart_db_at", None) is not None and kind == "postgresql":
            from _restart import DatabaseRestart  # type: ignore[import-not-found]

            restart = DatabaseRestart(pg, database_url, args.restart_db_at)
            log(f"{kind}: PostgreSQL restarts {args.restart_db_at:g} s into the window")
        load = run_load([server.port for server in servers], seeded.tokens,
                        concurrency=args.concurrency, warmup=args.warmup,
                        max_warmup=args.max_warmup, seconds=args.seconds,
                        server_pids=[server.pid for server in servers if server.pid],
                        db_pid=db_pid, seed_value=args.seed,
                        at_window_start=restart.arm if restart else None)
        if restart is not None:
            load["database_restart"] = restart.summary(load["failed_requests"])
        shared_limit = None
        if args.servers > 1:
            statuses = sign_in_statuses([server.port for server in servers],
                                        "bench.shared.limit@nhs.net")
            shared_limit = {"statuses": statuses,
                            "ok": statuses == [400] * ACCOUNT_LIMIT + [429]}
        for server in servers:
            server.stop()
        server_log = "\n".join(server.log_tail(20) for server in servers)
        counts = database_counts(database_url)
        check = integrity(load, counts)
        result = {
            "benchmark": "submit",
            "database": kind,
            "database_detail": db_label,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cores": cores(), "python": sys.version.split()[0]},
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "gunicorn": {"workers": args.workers, "worker_class": "sync",
                         "servers": args.servers, "shared_rate_limits": args.servers > 1},
            "other_load_before_start_cores": busy_before,
            "synthetic_data": {"cohorts": seeded.cohorts, "trainees": seeded.trainees,
                               "open_cycles": seeded.cycles, "invitations": seeded.invitations,
                               "instrument": INSTRUMENT, "seed_seconds": round(seeded.seconds, 1)},
            **load,
            "integrity": check,
            "shared_rate_limit": shared_limit,
            "aim": {"surveys_per_s": AIM_SURVEYS_PER_S, "submit_p95_ms": AIM_SUBMIT_P95_MS,
                    "met": (load["surveys_per_s"] >= AIM_SURVEYS_PER_S
                            and (load["latency"].get("submit", {}).get("p95_ms") or 1e9)
                            < AIM_SUBMIT_P95_MS and load["errors"] == 0)},
            "gunicorn_log_tail": server_log if "Error" in server_log or "Traceback" in server_log
            else "",
        }
        if args.profile:
            from _profiling import summarise  # type: ignore[import-not-found]

            result["profile"] = summarise(workdir / "profiles", args.profile_top)
        return result
    finally:
        for server in servers:
            server.stop()
        stack.close()
        if args.keep:
            log(f"{kind}: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Output


def fmt(value: Any, unit: str = "") -> str:
    return "-" if value is None else f"{value}{unit}"


def restart_lines(restart: dict[str, Any] | None) -> list[str]:
    if restart is None:
        return []
    if not restart.get("restarted"):
        return [f"   database restart      FAILED: {restart.get('error')}"]
    return [f"   database restart      {restart['restart_seconds']:>7}s   "
            f"(pg_ctl restart -m fast): {restart['failed_requests']} requests failed "
            f"{restart['failed_by_step']}, "
            f"all within {restart['failures_within_seconds']} s of it"]


def print_report(result: dict[str, Any]) -> None:
    lat = result["latency"]
    data = result["synthetic_data"]
    cpu = result["cpu"]
    check = result["integrity"]
    aim = result["aim"]
    lines = [
        "",
        f"== bench/submit: {result['database_detail']}",
        f"   {result['gunicorn'].get('servers', 1)} x gunicorn -w "
        f"{result['gunicorn']['workers']} (sync) on {cpu['cores']} cores; "
        f"{result['concurrency']} simulated raters; {result['warmup_seconds']:g} s warm-up + "
        f"{result['window_seconds']:g} s measured",
        f"   synthetic cohort: {data['cohorts']} cohorts, {data['trainees']} trainees, "
        f"{data['open_cycles']} open '{data['instrument']}' cycles, {data['invitations']} "
        f"invitations (40 items on 5 pages, 2 comment prompts)",
        "",
        f"   completed surveys/s   {result['surveys_per_s']:>8}   (aim >= {AIM_SURVEYS_PER_S:g})",
        f"   requests/s            {result['requests_per_s']:>8}   "
        f"({result['requests_per_survey']} requests per survey; = "
        f"{result['survey_equivalents_per_s']} surveys' worth/s)",
        f"   surveys completed     {result['surveys_completed_in_window']:>8}   in the window "
        f"({result['surveys_completed_total']} in all)"
        + (f"; requests per server {result['requests_per_server']}"
           if len(result.get("requests_per_server", ())) > 1 else ""),
        f"   errors                {result['errors']:>8}   "
        f"({result['abandoned_surveys']} surveys abandoned)",
        *restart_lines(result.get("database_restart")),
        "",
        f"   {'latency (ms)':<22}{'count':>8}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}",
    ]
    order = ["start", "welcome", "page_get", "page_save", "comments_get", "comments_save",
             "review", "submit", "thanks"]
    for kind in order + sorted(set(lat) - set(order)):
        if kind not in lat:
            continue
        row = lat[kind]
        label = {"page_save": "page save (POST)", "submit": "final submit (POST)"}.get(kind, kind)
        lines.append(f"   {label:<22}{row['count']:>8}{fmt(row['p50_ms']):>9}"
                     f"{fmt(row['p95_ms']):>9}{fmt(row['p99_ms']):>9}{fmt(row['max_ms']):>9}")
    row = result["latency_all_requests"]
    lines.append(f"   {'all requests':<22}{row['count']:>8}{fmt(row['p50_ms']):>9}"
                 f"{fmt(row['p95_ms']):>9}{fmt(row['p99_ms']):>9}{fmt(row['max_ms']):>9}")
    lines += [
        "",
        f"   CPU (cores busy): gunicorn {cpu['gunicorn_cores']}, PostgreSQL "
        f"{cpu['postgresql_cores']}, load generator {cpu['load_generator_cores']}, other "
        f"{cpu['other_processes_cores']}; machine {cpu['machine_busy_cores']} of {cpu['cores']}",
        f"   CPU per survey (ms): gunicorn {result['cpu_ms_per_survey']['gunicorn']}, "
        f"PostgreSQL {result['cpu_ms_per_survey']['postgresql']}, load generator "
        f"{result['cpu_ms_per_survey']['load_generator']} -> at most "
        f"{result['projected_surveys_per_s_on_idle_cores']} surveys/s on {cpu['cores']} idle cores",
        "   surveys/s per second: "
        + " ".join(str(v) for v in result["surveys_per_second_timeline"]),
        f"   integrity: {'OK' if check['ok'] else 'FAILED'} - database has "
        f"{check['found']['responses']} rater responses for "
        f"{check['expected']['responses']} successful submits; "
        f"{check['found']['answers']} answers ({check['found']['not_observed_answers']} not "
        f"observed), {check['found']['comments']} comments",
    ]
    lines += [f"      {p}" for p in check["problems"]]
    if result.get("shared_rate_limit"):
        shared = result["shared_rate_limit"]
        lines.append(f"   shared rate limit: {'OK' if shared['ok'] else 'FAILED'} - wrong "
                     f"passwords for one account, alternating servers: {shared['statuses']} "
                     f"(expected {ACCOUNT_LIMIT} x 400, then 429)")
    submit_p95 = lat.get("submit", {}).get("p95_ms")
    lines.append(f"   aim (>= {AIM_SURVEYS_PER_S:g} surveys/s, submit p95 < "
                 f"{AIM_SUBMIT_P95_MS:g} ms, no errors): {'MET' if aim['met'] else 'MISSED'} "
                 f"({result['surveys_per_s']} surveys/s, submit p95 {fmt(submit_p95, ' ms')}, "
                 f"{result['errors']} errors)")
    if cpu["other_processes_cores"] > 0.25:
        lines.append(f"   WARNING: other processes used {cpu['other_processes_cores']} of the "
                     f"{cpu['cores']} cores during the run; these figures understate the app")
    if result["ran_out_of_links"]:
        lines.append("   note: the raters used every invitation; raise --invitations")
    for sample in result["error_samples"]:
        lines.append(f"   error: {sample}")
    if result.get("gunicorn_log_tail"):
        lines.append("   gunicorn log:\n" + result["gunicorn_log_tail"])
    print("\n".join(lines), flush=True)
    if result.get("profile"):
        print(result["profile"]["text"], flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="at least this many seconds of load before the window, and until "
                             "every rater has finished one survey (checked, not timed)")
    parser.add_argument("--max-warmup", type=float, default=120.0,
                        help="open the window after this long even if some rater has not "
                             "finished a survey yet")
    parser.add_argument("--concurrency", type=int, default=32, help="simulated raters")
    parser.add_argument("--workers", type=int, default=2 * cores() + 1,
                        help="gunicorn sync workers per server (default 2 x cores + 1)")
    parser.add_argument("--servers", type=int, default=1,
                        help="gunicorn instances on different ports sharing the database and "
                             "(when more than one) a redis-server; each rater's requests go to "
                             "them in turn")
    parser.add_argument("--trainees", type=int, default=300, help="synthetic trainees")
    parser.add_argument("--invitations", type=int, default=0,
                        help="survey links to seed (default 60/s x (warm-up + seconds) x 1.5)")
    parser.add_argument("--seed", type=int, default=360, help="random seed")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                        help="first wait up to this long for other processes to leave the CPU "
                             "alone (the figures mean little on a busy machine)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile every gunicorn worker; print the top functions")
    parser.add_argument("--profile-top", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--restart-db-at", type=float, default=None, metavar="SECONDS",
                        help="PostgreSQL only: restart the server (pg_ctl restart -m fast) this "
                             "many seconds into the measured window, the app left running")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or min(args.concurrency, args.workers, args.servers) < 1:
        parser.error("--seconds, --concurrency, --workers and --servers must be positive")
    raise_open_file_limit()
    sys.path.insert(0, str(ROOT / "bench"))

    def report(_kind: str, result: dict[str, Any]) -> bool:
        print_report(result)
        return (bool(result["errors"]) or not result["integrity"]["ok"]
                or not (result["shared_rate_limit"] or {"ok": True})["ok"])

    return run_each_database(
        args.db, lambda kind: bench_database(kind, args),
        lambda kind: f"submit-{kind}{result_suffix(args)}.json", report)


def result_suffix(args: argparse.Namespace) -> str:
    """The defaults keep ``submit-<db>.json``; other shapes of run get their own file."""
    return ((f"-{args.concurrency}" if args.concurrency != 32 else "")
            + (f"-{args.servers}servers" if args.servers > 1 else "")
            + ("-profile" if args.profile else "")
            + ("-restart" if getattr(args, "restart_db_at", None) is not None else ""))


if __name__ == "__main__":
    sys.exit(main())
