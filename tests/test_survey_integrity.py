"""What the rater survey guarantees whatever is sent to it: bad input changes nothing, a link is
submitted once however many requests race, nothing stored links answers to a rater, no log
holds a working link, and no invitation email is lost to an SMTP outage. Runs on SQLite and on
PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import csrf_token, draft_of, sealed_answers
from test_survey import (
    PAGE_KEYS,
    PEER,
    RATERS,
    answer_all,
    launch_cycle,
    open_link,
    save_comments,
    submit,
)
from werkzeug.datastructures import MultiDict

from feedback360 import mail
from feedback360.extensions import db
from feedback360.models import (
    AuditEvent,
    FeedbackCycle,
    Invitation,
    OutboxMessage,
    Response,
    SealedResponse,
)
from feedback360.services import cycles
from feedback360.services.surveys import LinkProblem, submit_invitation

THREADS = 24


@pytest.fixture
def trainee(make_user):
    return make_user("alex.trainee@nhs.net", name="Alex Trainee", specialty="Clinical Biochemistry")


@pytest.fixture
def launched(app, smtp, trainee):
    return launch_cycle(app, smtp, trainee)


def stored_draft(app, email: str):
    with app.app_context():
        return draft_of(email)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


# --- Bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("forged", [
    {PAGE_KEYS[0][0]: "9"},
    {PAGE_KEYS[0][0]: "0"},
    {PAGE_KEYS[0][0]: "abc"},
    {PAGE_KEYS[0][0]: "-1"},
    {PAGE_KEYS[0][0]: "4.0"},
    {"not-an-item": "3"},
    {PAGE_KEYS[1][0]: "3"},  # a real item, but from another page
], ids=["nine", "zero", "text", "negative", "decimal", "unknown-key", "other-page"])
def test_forged_answers_are_refused_and_nothing_is_saved(app, client, launched, forged):
    open_link(client, launched.links[PEER])
    client.post("/survey/page/1", data={
        "csrf_token": csrf_token(client.get("/survey/page/1")), PAGE_KEYS[0][1]: "2"})
    before = stored_draft(app, PEER)
    assert before == {"answers": {PAGE_KEYS[0][1]: 2}, "comments": {}}

    page = client.get("/survey/page/1")
    answers = dict.fromkeys(PAGE_KEYS[0][2:], "5") | forged
    refused = client.post("/survey/page/1", data={"csrf_token": csrf_token(page), **answers})
    assert refused.status_code == 400
    assert "There is a problem with your request" in refused.text
    assert "Nothing from that page was saved" in refused.text
    assert stored_draft(app, PEER) == before


def test_an_answer_sent_twice_is_refused(app, client, launched):
    open_link(client, launched.links[PEER])
    page = client.get("/survey/page/1")
    key = PAGE_KEYS[0][0]
    refused = client.post("/survey/page/1", data=MultiDict(
        [("csrf_token", csrf_token(page)), (key, "3"), (key, "5")]))
    assert refused.status_code == 400
    assert stored_draft(app, PEER) is None


def test_a_page_without_its_csrf_token_is_refused(app, client, launched):
    open_link(client, launched.links[PEER])
    refused = client.post("/survey/page/1", data={PAGE_KEYS[0][0]: "3"})
    assert refused.status_code == 400
    assert stored_draft(app, PEER) is None


def test_an_overlong_comment_is_refused_with_the_text_kept(app, client, launched):
    open_link(client, launched.links[PEER])
    save_comments(client, {"strengths": "Kind to patients."})
    before = stored_draft(app, PEER)
    refused = save_comments(client, {"strengths": "Clear. " + "x" * 3994,  # 4001 characters
                                     "development": "More delegation."})
    assert refused.status_code == 400
    assert "<title>Error: " in refused.text
    assert "Comments must be 4000 characters or fewer" in refused.text
    assert 'href="#strengths"' in refused.text  # the error summary links to the box
    assert "x" * 3994 in refused.text  # nothing the rater typed is thrown away
    assert stored_draft(app, PEER) == before
    assert save_comments(client, {"strengths": "y" * 4000}).status_code == 302


def test_unknown_comment_prompts_are_refused(app, client, launched):
    open_link(client, launched.links[PEER])
    refused = save_comments(client, {"strengths": "Fine.", "secret-prompt": "x"})
    assert refused.status_code == 400
    assert stored_draft(app, PEER) is None


def test_markup_in_a_comment_is_kept_verbatim_and_always_shown_as_text(app, client, launched):
    hostile = '</textarea><script>alert("x")</script> <b>bold</b> & "quotes"'
    open_link(client, launched.links[PEER])
    answer_all(client)
    assert save_comments(client, {"strengths": hostile}).status_code == 302
    assert stored_draft(app, PEER)["comments"] == {"strengths": hostile}

    for path in ("/survey/review", "/survey/comments"):
        page = client.get(path)
        assert '<script>alert("x")</script>' not in page.text, path
        assert "<b>bold</b>" not in page.text, path
        assert "&lt;script&gt;alert(" in page.text, path
        assert "&lt;/textarea&gt;" in page.text, path

    assert submit(client).status_code == 302
    with app.app_context():
        [response] = sealed_answers()
        assert response["comments"] == {"strengths": hostile}


def test_an_oversized_request_is_refused_with_413(app, client, launched):
    open_link(client, launched.links[PEER])
    save_comments(client, {"strengths": "Kind to patients."})
    before = stored_draft(app, PEER)
    page = client.get("/survey/comments")
    huge = client.post("/survey/comments", data={
        "csrf_token": csrf_token(page), "strengths": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)})
    assert huge.status_code == 413
    assert "What you sent is too large" in huge.text
    assert stored_draft(app, PEER) == before


# --- Submit once ------------------------------------------------------------------------------

def race(count_: int, work) -> list[str]:
    """Run ``work()`` in ``count_`` threads released together; each returns an outcome."""
    barrier = threading.Barrier(count_)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            outcome = work()
        except Exception as error:  # recorded, so the test reports it instead of hanging
            outcome = f"unexpected: {error!r}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a submit hung"
    return outcomes


def wide_pool_app(make_app):
    # Every thread holds its own connection at the same time: the race is real, not queued.
    return make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": THREADS + 2,
                                               "max_overflow": 0})


def test_concurrent_submits_of_one_invitation_create_one_sealed_response(app, make_app, client,
                                                                  launched):
    open_link(client, launched.links[PEER])
    answer_all(client, "3")
    with app.app_context():
        invitation = launched.invitation(PEER)
        invitation_id, nonce = invitation.id, invitation.token_nonce
    racing = wide_pool_app(make_app)

    def work() -> str:
        with racing.app_context():
            try:
                submit_invitation(invitation_id, nonce)
                db.session.commit()
                return "submitted"
            except LinkProblem as problem:
                db.session.rollback()
                return f"refused {problem.status}"
            finally:
                db.session.remove()

    outcomes = race(THREADS, work)
    assert sorted(outcomes) == ["refused 410"] * (THREADS - 1) + ["submitted"], outcomes
    with app.app_context():
        [response] = sealed_answers()
        assert response["g"] == "peer"
        assert len(response["answers"]) == len(PAGE_KEYS) * len(PAGE_KEYS[0])
        invitation = launched.invitation(PEER)
        assert invitation.status == "completed" and invitation.draft is None


def test_concurrent_submit_requests_give_one_thanks_and_never_a_500(app, make_app, client,
                                                                    launched):
    open_link(client, launched.links[PEER])
    answer_all(client, "4")
    token = csrf_token(client.get("/survey/review"))
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    racing = wide_pool_app(make_app)

    def work() -> str:
        browser = racing.test_client()  # one tab each, all with the rater's session
        browser.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
        response = browser.post("/survey/submit", data={"csrf_token": token})
        return str(response.status_code)

    outcomes = race(THREADS, work)
    assert sorted(outcomes) == ["302"] + ["410"] * (THREADS - 1), outcomes
    assert count(app, SealedResponse) == 1


# --- Anonymity by construction ----------------------------------------------------------------

ANSWER_TABLES = ("responses", "answers", "comments", "sealed_responses")
# A comment may be hidden later by a coach or admin: who hid it and when. That is moderation of
# the text, set long after submission, and never the rater (raters have no account).
MODERATION = {("comments", "hidden_by_id"), ("comments", "hidden_at")}
TELLTALE_WORDS = ("email", "invitation", "created", "submitted", "time", "updated", "opened",
                  "sent", "ip_", "user", "name", "token", "nonce")


def test_no_path_from_answers_to_a_rater_in_the_schema(app):
    with app.app_context():
        inspector = sa.inspect(db.engine)
        for table in ANSWER_TABLES:
            for fk in inspector.get_foreign_keys(table):
                assert fk["referred_table"] in {"responses", "feedback_cycles", "users"}, fk
                if fk["referred_table"] == "users":
                    assert (table, *fk["constrained_columns"]) in MODERATION, fk
            for column in inspector.get_columns(table):
                name = column["name"].lower()
                if (table, name) in MODERATION:
                    continue
                assert not any(word in name for word in TELLTALE_WORDS), (table, name)
                assert not isinstance(column["type"], sa.DateTime | sa.Date | sa.Time), \
                    (table, name)
        # The only trace of when a colleague answered: a day, on the invitation.
        completed_on = {c["name"]: c for c in inspector.get_columns("invitations")}["completed_on"]
        assert isinstance(completed_on["type"], sa.Date)
        assert not isinstance(completed_on["type"], sa.DateTime)
        [pk] = [inspector.get_pk_constraint("responses")["constrained_columns"]]
        assert pk == ["id"]


def test_a_filled_database_cannot_join_answers_to_raters(app, make_app, launched):
    events_before = count(app, AuditEvent)
    raters = [(name, email) for name, email, _ in RATERS[:4]]
    for n, (_, email) in enumerate(raters):
        browser = make_app().test_client()
        open_link(browser, launched.links[email])
        answer_all(browser, str(2 + n % 3))
        save_comments(browser, {"strengths": f"Helpful on the ward ({n}).",
                                "development": "Speak up more in meetings."})
        assert submit(browser).status_code == 302

    with app.app_context():
        # While the cycle is open the answers are sealed: nothing of them is readable.
        assert count(app, Response) == 0 and count(app, SealedResponse) == 4
        assert "helpful on the ward" not in table_dump((*ANSWER_TABLES, "invitations"))
        cycles.close_cycle(db.session.get(FeedbackCycle, launched.cycle_id), by=None)
        db.session.commit()

        ids = list(db.session.scalars(db.select(Response.id).where(~Response.is_self)))
        assert len(ids) == 4 and count(app, SealedResponse) == 0
        for value in ids:  # random (version 4), so neither a sequence nor a clock
            assert isinstance(value, uuid.UUID) and value.version == 4

        dump_text = table_dump(ANSWER_TABLES)
        assert "helpful on the ward" in dump_text
        for name, email in raters:
            assert email not in dump_text
            assert email.split("@")[0] not in dump_text
            assert name.lower() not in dump_text
            assert name.split()[0].lower() not in dump_text

        completed = db.session.execute(sa.text(
            "SELECT id, draft, completed_on FROM invitations WHERE status = 'completed'")).all()
        assert len(completed) == 4
        assert all(draft is None for _, draft, _ in completed)  # SQL NULL
        # answering leaves no audit trail (closing the cycle is one event, naming no one)
        assert count(app, AuditEvent) == events_before + 1


def table_dump(tables: tuple[str, ...]) -> str:
    dump = []
    for table in tables:
        rows = db.session.execute(sa.text(f"SELECT * FROM {table}"))  # noqa: S608
        dump += [repr(tuple(row)) for row in rows]
    return "\n".join(dump).lower()


def test_storage_order_is_the_close_shuffle_not_submission_order(app, make_app, launched,
                                                                   monkeypatch, db_backend):
    """Where rows sit (PostgreSQL's ctid, SQLite's cells in a page, filled from the end in
    insertion order) is the order the close wrote them: its random shuffle, here forced to the
    reverse of the order the raters submitted in, never the submission order itself."""
    from feedback360.services import unsealing

    class Reverse:  # stands in for secrets.SystemRandom: a known "shuffle"
        def shuffle(self, payloads: list) -> None:
            payloads.sort(key=lambda p: p["comments"]["strengths"], reverse=True)

    monkeypatch.setattr(unsealing.secrets, "SystemRandom", Reverse)
    submitted = [f"Submitted as number {n} of four." for n in range(4)]
    for (_, email, _), text in zip(RATERS[:4], submitted, strict=True):
        browser = make_app().test_client()
        open_link(browser, launched.links[email])
        answer_all(browser, "4")
        save_comments(browser, {"strengths": text})
        assert submit(browser).status_code == 302
    with app.app_context():
        cycles.close_cycle(db.session.get(FeedbackCycle, launched.cycle_id), by=None)
        db.session.commit()
        if db_backend == "postgresql":
            stored = list(db.session.scalars(sa.text(
                "SELECT text FROM comments ORDER BY ctid")))
        else:
            # No rowid to order by (rows are keyed by random UUIDs) ...
            for table in ("responses", "answers", "comments", "sealed_responses"):
                with pytest.raises(sa.exc.OperationalError):
                    db.session.execute(sa.text(f"SELECT rowid FROM {table}"))  # noqa: S608
            # ... but cells sit in insertion order within a page, the last lowest.
            db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
            raw = Path(db.engine.url.database).read_bytes()
            stored = sorted(submitted, key=lambda text: raw.rindex(text.encode()),
                            reverse=True)
    assert stored == submitted[::-1]


# --- Logs never hold a working link --------------------------------------------------------------

def test_the_dev_server_logs_no_token(app, launched, caplog):
    from werkzeug.serving import make_server

    from feedback360.log_redaction import install_token_log_filter

    install_token_log_filter(app)
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = launched.links[PEER]
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"http://127.0.0.1:{server.server_port}{path}", timeout=10)
        redirect.value.close()
        assert redirect.value.code == 302
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    token = path.removeprefix("/s/")
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/s/[redacted]" in line for line in lines), lines
    assert not any(token in line or token[:12] in line for line in lines), lines


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


# --- Mail that cannot be lost -----------------------------------------------------------------

def test_invitations_survive_an_smtp_outage_and_are_delivered_once(app, smtp, runner, trainee):
    smtp.stop()
    launch_cycle(app, smtp, trainee, deliver=False)
    with app.app_context():
        report = mail.deliver_due()  # what the launching request tries once it has responded
        assert report.sent == 0 and report.retrying == len(RATERS)
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "pending")) == len(RATERS)
        statuses = set(db.session.scalars(db.select(Invitation.status)))
        assert statuses == {"sent"}  # the launch itself stood
        db.session.remove()
    assert smtp.messages == []

    smtp.start()
    first = runner.invoke(args=["deliver-mail", "--now"])
    assert first.exit_code == 0 and f"sent {len(RATERS)}" in first.output, first.output
    second = runner.invoke(args=["deliver-mail", "--now"])
    assert second.exit_code == 0 and "sent 0" in second.output, second.output

    recipients = sorted(m["To"].addresses[0].addr_spec for m in smtp.messages)
    assert recipients == sorted(email for _, email, _ in RATERS)
    for message in smtp.messages:
        [link] = smtp.links(message)
        assert "/s/" in link
