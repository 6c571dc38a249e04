"""A gunicorn worker killed (SIGKILL) in the middle of submits (issue 11, point 7).

The rater whose submit the dead worker held gets no response at all (never part of one), nothing
of theirs is written, and the same link submits again; the submit queued behind it is answered
by the worker gunicorn starts in its place. Every completed invitation has exactly one sealed
response. To kill the worker while a submit is certainly inside its transaction, the test holds
the database's write lock (SQLite) or the cycle's row lock (PostgreSQL) first, so the submit
waits there, then kills, then lets go.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from helpers import csrf_token, gunicorn_server, sealed_answers
from sqlalchemy import create_engine, make_url
from test_survey import RATERS, answer_all, launch_cycle, open_link, save_comments

from feedback360 import PROJECT_ROOT
from feedback360.extensions import db
from feedback360.models import FeedbackCycle, Invitation, SealedResponse

SUBMITTERS = 2  # the first is held by the worker that is killed, the second waits behind it


@contextlib.contextmanager
def submits_held(database_url: str, cycle_id: int) -> Iterator[None]:
    """Submits to ``cycle_id`` wait inside their transaction until this block ends."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        lock = sqlite3.connect(url.database, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # the submit's UPDATE waits for the write lock
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        return
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            # The submit reads the cycle FOR SHARE first, and waits here.
            connection.execute(db.select(FeedbackCycle.id).where(FeedbackCycle.id == cycle_id)
                               .with_for_update())
            yield
            connection.rollback()
    finally:
        engine.dispose()


def workers_of(master: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                children.append(int(stat.parent.name))
    return children


def send_submit(port: int, cookie: str, token: str) -> socket.socket:
    body = urllib.parse.urlencode({"csrf_token": token}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall((f"POST /survey/submit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
    return sock


def received(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (b"" if it closes without a byte)."""
    data = b""
    with sock:
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    return data


def status_and_location(response: bytes) -> tuple[str, str]:
    head = response.split(b"\r\n\r\n", 1)[0].decode()
    lines = head.split("\r\n")
    location = next((line.split(":", 1)[1].strip() for line in lines[1:]
                     if line.lower().startswith("location:")), "")
    return lines[0], location


def test_a_worker_killed_mid_submit_loses_nothing_and_the_rater_submits_again(
        app, smtp, make_user, database_url, tmp_path):
    launched = launch_cycle(app, smtp, make_user())
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    raters = []  # (cookie, csrf token) of raters on the review page, each in their own browser
    for _, email, _ in RATERS[:SUBMITTERS + 1]:
        browser = app.test_client()
        open_link(browser, launched.links[email])
        answer_all(browser)
        assert save_comments(browser, {}).headers["Location"] == "/survey/review"
        review = browser.get("/survey/review")
        raters.append((f"{cookie_name}={browser.get_cookie(cookie_name).value}",
                       csrf_token(review)))
    held, queued, _never_submits = raters

    env = {"FEEDBACK360_ENV": "testing", "SECRET_KEY": app.config["SECRET_KEY"],
           "FEEDBACK360_INSTANCE": str(tmp_path / "served"), "DATABASE_URL": database_url,
           "MAIL_BACKEND": "file", "RATELIMIT_ENABLED": "false"}
    with gunicorn_server(env, workers=1, cwd=PROJECT_ROOT) as (base, server):
        port = int(base.rsplit(":", 1)[1])
        # The worker is up (its first answer) before the submits, so it takes the first at once.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as warm:
            warm.sendall(b"GET /about/privacy HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Connection: close\r\n\r\n")
            assert warm.recv(12).startswith(b"HTTP/1.1")
        [worker] = workers_of(server.pid)
        with submits_held(database_url, launched.cycle_id):
            first = send_submit(port, *held)
            second = send_submit(port, *queued)
            # Neither is answered while the lock is held: the first is inside its transaction.
            readable, _, _ = select.select([first, second], [], [], 1.0)
            assert readable == []
            os.kill(worker, signal.SIGKILL)
            assert received(first) == b""  # no response at all, never part of one
        # The lock gone, gunicorn's new worker answers the submit that waited for it.
        assert status_and_location(received(second)) == ("HTTP/1.1 302 FOUND",
                                                          "/survey/thanks")
        # The rater the dead worker held submits again through the same link, once.
        again = received(send_submit(port, *held))
        assert status_and_location(again) == ("HTTP/1.1 302 FOUND", "/survey/thanks")
        assert b"already given your feedback" in received(send_submit(port, *held))
        [respawned] = workers_of(server.pid)
        assert respawned != worker
    _, log = server.communicate(timeout=30)
    assert f"Worker (pid:{worker}) was sent SIGKILL" in log

    with app.app_context():
        invitations = db.session.scalars(db.select(Invitation).filter_by(
            cycle_id=launched.cycle_id)).all()
        completed = [i for i in invitations if i.status == "completed"]
        assert len(completed) == SUBMITTERS
        assert all(i.draft is None and i.completed_on for i in completed)
        assert db.session.scalar(db.select(db.func.count()).select_from(SealedResponse)
                                 .filter_by(cycle_id=launched.cycle_id)) == SUBMITTERS
        # Each sealed row is whole: it opens, with every answer the rater gave.
        opened = sealed_answers(launched.cycle_id)
        assert len(opened) == SUBMITTERS
        assert all(len(payload["answers"]) == len(opened[0]["answers"]) > 0
                   for payload in opened)
        # The rater who never submitted still has their draft, and is not counted.
        left = [i for i in invitations if i.status != "completed"]
        assert sum(1 for i in left if i.draft is not None) == 1
