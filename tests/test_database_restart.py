"""PostgreSQL restarted under the app, the pool's pre-ping off (issue 11, point 7).

Every pooled connection dies with the server. The first query of a request that meets one is
run again on a fresh connection (``feedback360/reconnect.py``), so no request fails, and each
rater's submit is recorded exactly once. The test restarts a cluster of its own, never the one
the rest of the suite shares.
"""

from __future__ import annotations

import http.client
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from helpers import csrf_token, gunicorn_server
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError
from test_survey import PAGE_KEYS, RATERS, answer_all, launch_cycle, open_link, save_page

from feedback360 import PROJECT_ROOT
from feedback360.extensions import db
from feedback360.models import Invitation, SealedResponse

SUBMITTERS = 4  # raters who submit after the restart, each from their own browser
WORKERS = 3
POOLED = 5  # SQLAlchemy's default pool size: every one of them is dead after the restart


@pytest.fixture
def database_url(db_backend: str, pg_cluster_module) -> Iterator[str]:
    """A database on a throwaway cluster of this test's own, schema ready."""
    if db_backend != "postgresql":
        pytest.skip("restarts a PostgreSQL server; SQLite has none to restart")
    with pg_cluster_module.temporary_cluster() as cluster_url:
        url = pg_cluster_module.create_database(cluster_url, "feedback360_restart")
        engine = create_engine(url)
        db.metadata.create_all(engine)
        engine.dispose()
        yield url


def restart_server(pg_cluster_module, url: str) -> float:
    """``pg_ctl restart -m fast`` the server behind ``url``; the seconds it took."""
    engine = create_engine(url)
    with engine.connect() as connection:
        data = Path(connection.scalar(text("SHOW data_directory")))
    engine.dispose()
    pg_ctl = pg_cluster_module.find_bindir() / "pg_ctl"
    started = time.monotonic()
    result = pg_cluster_module._run(
        [str(pg_ctl), "-D", str(data), "-l", str(data.parent / "server.log"), "-m", "fast",
         "-w", "-t", "30", "restart"], cwd=data.parent, start_new_session=True)
    assert result.returncode == 0, result.stderr
    return time.monotonic() - started


def test_no_request_fails_after_a_restart_and_each_submit_counts_once(
        app, smtp, make_user, database_url, pg_cluster_module, caplog):
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping") is False
    launched = launch_cycle(app, smtp, make_user())
    browsers = []
    for _, email, _ in RATERS[:SUBMITTERS]:
        browser = app.test_client()
        open_link(browser, launched.links[email])
        answer_all(browser)
        browsers.append(browser)
    with app.app_context():
        engine = db.engine
    held = [engine.connect() for _ in range(POOLED)]  # so the pool holds that many
    for connection in held:
        connection.close()
    assert engine.pool.checkedin() == POOLED

    assert restart_server(pg_cluster_module, database_url) < 30

    statuses = []  # every request after the restart: the review page, the submit, thanks
    for browser in browsers:
        review = browser.get("/survey/review")
        statuses.append(review.status_code)
        if review.status_code == 200:
            statuses.append(browser.post("/survey/submit", data={
                "csrf_token": csrf_token(review)}).status_code)
            statuses.append(browser.get("/survey/thanks").status_code)
    assert statuses == [200, 302, 200] * SUBMITTERS
    assert "dropped by the server" in caplog.text  # the dead connection was met, and retried

    with app.app_context():
        completed = db.session.scalars(db.select(Invitation).filter_by(
            cycle_id=launched.cycle_id, status="completed")).all()
        assert sorted(i.rater_email for i in completed) == sorted(
            email for _, email, _ in RATERS[:SUBMITTERS])
        assert db.session.scalar(db.select(db.func.count()).select_from(SealedResponse)
                                 .filter_by(cycle_id=launched.cycle_id)) == SUBMITTERS

    # Later in a transaction the query is not run again: what came before it died with the
    # connection, so the request fails rather than carry on with half of its work.
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        restart_server(pg_cluster_module, database_url)
        with pytest.raises(OperationalError) as raised:
            db.session.execute(text("SELECT 1"))
        assert raised.value.connection_invalidated
        db.session.rollback()


@pytest.mark.parametrize("step", ["save a page", "submit"])
def test_a_request_caught_part_way_by_a_restart_is_run_again_whole(
        app, smtp, make_user, database_url, pg_cluster_module, caplog, step):
    """The server goes down between a request's first and second statement: the request had
    written nothing yet, so it is run again on a new connection and the rater never sees an
    error; a submit caught so is recorded once. (The survey's pages that only read make one
    statement, which ``reconnect`` already runs again.)"""
    launched = launch_cycle(app, smtp, make_user())
    _, email, _ = RATERS[0]
    browser = app.test_client()
    open_link(browser, launched.links[email])
    answer_all(browser)
    review = browser.get("/survey/review")
    with app.app_context():
        engine = db.engine
    statements, restarted = [], []

    def restart_before_the_first_write(_connection, _cursor, statement, *_args):
        statements.append(statement)
        if statement.startswith(("INSERT", "UPDATE")) and not restarted:
            restarted.append(restart_server(pg_cluster_module, database_url))

    event.listen(engine, "before_cursor_execute", restart_before_the_first_write)
    try:
        if step == "save a page":
            assert save_page(browser, 1, dict.fromkeys(PAGE_KEYS[0], "3")).status_code == 302
        else:
            response = browser.post("/survey/submit", data={"csrf_token": csrf_token(review)})
            assert response.status_code == 302
    finally:
        event.remove(engine, "before_cursor_execute", restart_before_the_first_write)
    assert restarted
    assert "running the request again" in caplog.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SealedResponse)
                                 .filter_by(cycle_id=launched.cycle_id)) == (
            1 if step == "submit" else 0)


def test_a_restart_after_a_requests_last_statement_does_not_fail_it(
        app, smtp, make_user, database_url, pg_cluster_module, caplog):
    """The page is rendered; only the ROLLBACK that ends its read-only transaction meets the
    dropped connection. The finished page is sent, and the connection discarded."""
    launched = launch_cycle(app, smtp, make_user())
    browser = app.test_client()
    open_link(browser, launched.links[RATERS[0][1]])
    with app.app_context():
        engine = db.engine
    restarted = []

    def restart_after_the_first(*_args):
        if not restarted:
            restarted.append(restart_server(pg_cluster_module, database_url))

    event.listen(engine, "after_cursor_execute", restart_after_the_first)
    try:
        assert browser.get("/survey/page/1").status_code == 200
    finally:
        event.remove(engine, "after_cursor_execute", restart_after_the_first)
    assert restarted
    assert "discarding it" in caplog.text
    assert browser.get("/survey/page/1").status_code == 200


@pytest.mark.parametrize(("path", "commit_sent", "invalidated", "again", "expected"), [
    ("/survey/submit", False, True, False, True),   # nothing written yet
    ("/survey/submit", True, True, False, False),   # the COMMIT may have reached the server
    ("/survey/page/1", True, True, False, True),    # ... but saving a page twice is harmless
    ("/survey/comments", True, True, False, True),
    ("/survey/submit", False, False, False, False),  # not a dropped connection
    ("/survey/submit", False, True, True, False),   # run again once at most
])
def test_which_requests_may_run_again(app, path, commit_sent, invalidated, again, expected):
    """A request whose COMMIT was sent may have done its work: running it again could do it
    twice (a submit), so only views that write the same however often they run are."""
    from feedback360 import reconnect

    error = OperationalError("COMMIT", {}, Exception("server closed the connection"))
    error.connection_invalidated = invalidated
    with app.test_request_context(path, method="POST") as context:
        context.request.environ[reconnect.COMMIT_SENT] = commit_sent
        context.request.environ[reconnect.RERUN] = again
        assert reconnect.may_rerun(error) is expected


def request(port: int, method: str, path: str, cookie: str, body: dict[str, str] | None = None
         ) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = urllib.parse.urlencode(body) if body is not None else None
        connection.request(method, path, body=data, headers={
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_gunicorn_workers_serve_through_a_restart(app, smtp, make_user, database_url,
                                                  pg_cluster_module, tmp_path):
    launched = launch_cycle(app, smtp, make_user())
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    raters = []  # (cookie, csrf token) of raters on the review page, each in their own browser
    for _, email, _ in RATERS[:SUBMITTERS]:
        browser = app.test_client()
        open_link(browser, launched.links[email])
        answer_all(browser)
        review = browser.get("/survey/review")
        raters.append((f"{cookie_name}={browser.get_cookie(cookie_name).value}",
                       csrf_token(review)))
    env = {"FEEDBACK360_ENV": "testing", "SECRET_KEY": app.config["SECRET_KEY"],
           "FEEDBACK360_INSTANCE": str(tmp_path / "served"), "DATABASE_URL": database_url,
           "MAIL_BACKEND": "file", "RATELIMIT_ENABLED": "false"}
    with gunicorn_server(env, workers=WORKERS, cwd=PROJECT_ROOT) as (base, server):
        port = int(base.rsplit(":", 1)[1])
        # Enough reads that every worker has a pooled connection (gunicorn spreads them).
        warm = [request(port, "GET", "/survey/review", cookie) for cookie, _ in raters * 6]
        assert set(warm) == {200}
        restart_server(pg_cluster_module, database_url)
        after = [request(port, "GET", "/survey/review", cookie) for cookie, _ in raters * 3]
        after += [request(port, "POST", "/survey/submit", cookie, {"csrf_token": token})
                  for cookie, token in raters]
        assert after == [200] * (3 * SUBMITTERS) + [302] * SUBMITTERS
    _, log = server.communicate(timeout=30)
    assert "dropped by the server" in log  # the restart was met, not missed
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SealedResponse)
                                 .filter_by(cycle_id=launched.cycle_id)) == SUBMITTERS


def test_a_connection_refused_while_the_server_comes_back_is_tried_again(
        app, client, make_user, login, caplog):
    make_user("trainee@nhs.net")
    login(client, "trainee@nhs.net")
    with app.app_context():
        engine = db.engine
    refusals = []

    def refuse_twice(*_args):
        if len(refusals) < 2:
            refusals.append(1)
            raise psycopg.OperationalError("connection failed: Connection refused")

    engine.dispose()  # the next request needs a new connection
    event.listen(engine, "do_connect", refuse_twice)
    try:
        assert client.get("/cycles/new").status_code == 200
    finally:
        event.remove(engine, "do_connect", refuse_twice)
    assert len(refusals) == 2
    assert caplog.text.count("a new one refused") == 2
