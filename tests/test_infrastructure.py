"""The test fixtures themselves: real SMTP server, database per test, configuration."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from helpers import csrf_token, extract_links, form_fields, path_of
from sqlalchemy import inspect, select, text

from feedback360.extensions import db
from feedback360.models import User


def send(smtp, to: str = "rater@nhs.net",
         body: str = "Open https://feedback.example/s/abc.") -> None:
    message = EmailMessage()
    message["From"] = "feedback360 <no-reply@feedback360.invalid>"
    message["To"] = to
    message["Subject"] = "Please give feedback"
    message.set_content(body)
    message.add_alternative(f"<p>{body}</p>", subtype="html")
    with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
        client.send_message(message)


def test_smtp_captures_parsed_messages(smtp):
    send(smtp)
    [message] = smtp.messages
    assert isinstance(message, EmailMessage)
    assert message["To"] == "rater@nhs.net"
    assert message["Subject"] == "Please give feedback"
    assert smtp.links(message) == ["https://feedback.example/s/abc"]
    assert smtp.envelopes == [("no-reply@feedback360.invalid", ["rater@nhs.net"])]
    assert smtp.messages_to("RATER@nhs.net") == [message]
    smtp.clear()
    assert smtp.messages == []


def test_smtp_outage_and_recovery_on_the_same_port(smtp):
    port = smtp.port
    smtp.stop()
    with pytest.raises(OSError):
        send(smtp)
    smtp.start()
    assert smtp.port == port
    send(smtp, to="after@nhs.net")
    assert [m["To"] for m in smtp.wait_for(1)] == ["after@nhs.net"]


def test_smtp_is_running_and_empty_again_for_the_next_test(smtp):
    assert smtp.running
    assert smtp.messages == []


def test_app_config(app, smtp, database_url):
    config = app.config
    assert config["FEEDBACK360_ENV"] == "testing"
    assert config["TESTING"] is True
    assert config["SQLALCHEMY_DATABASE_URI"] == database_url
    assert config["MAIL_BACKEND"] == "smtp"
    assert (config["MAIL_SERVER"], config["MAIL_PORT"]) == (smtp.host, smtp.port)
    assert config["RATELIMIT_ENABLED"] is False
    assert config["WTF_CSRF_ENABLED"] is True
    assert config["MAIL_DELIVER_AFTER_REQUEST"] is True
    assert config["SECRET_KEY"]


def test_make_app_overrides(make_app):
    assert make_app(RATELIMIT_ENABLED=True).config["RATELIMIT_ENABLED"] is True


def test_database_backend_matches_the_url(database_url, db_backend):
    assert database_url.startswith({"sqlite": "sqlite:///",
                                    "postgresql": "postgresql+psycopg://"}[db_backend])


def test_schema_is_ready(app):
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {table.name for table in db.metadata.sorted_tables} <= tables


def test_sqlite_pragmas(app, db_backend):
    if db_backend != "sqlite":
        pytest.skip("SQLite only")
    with app.app_context():
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_starts_with_an_empty_database(app, make_user, round_):
    with app.app_context():
        assert db.session.scalars(select(User)).all() == []
    user = make_user("same@nhs.net")
    assert user.id == 1  # identities restart too


def test_make_user(app, make_user, make_cohort):
    cohort = make_cohort("STP 2026 Medical Physics")
    user = make_user("Trainee.One@NHS.net", specialty="Medical Physics", training_year=2,
                     site="Leeds", cohort=cohort)
    assert user.email == "trainee.one@nhs.net"  # usable outside an app context
    assert user.name == "Trainee One"
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert (stored.role, stored.active, stored.cohort.name) == (
            "trainee", True, "STP 2026 Medical Physics")
        assert stored.password_hash.startswith("$argon2id$")
        assert len(stored.session_nonce) == 32
        invited = make_user(password=None, role="coach")
        assert invited.password_hash is None and invited.role == "coach"


def test_login_helper(client, make_user, login):
    user = make_user("signin@nhs.net")
    assert login(client, user.email, "wrong password here").status_code != 302
    assert login(client, user).status_code == 302


def test_helpers():
    html = """<form action="/a" method="post">
      <input type="hidden" name="csrf_token" value="tok">
      <input name="email" value="a@nhs.net">
      <input type="checkbox" name="agree" value="y">
      <input type="radio" name="score" value="3" checked>
      <select name="group"><option value="peer">Peer</option>
        <option value="nurse" selected>Nurse</option></select>
      <textarea name="comment">Kind &amp; clear</textarea>
      <button type="submit">Go</button></form>"""
    assert csrf_token(html) == "tok"
    assert csrf_token(html.encode()) == "tok"
    assert form_fields(html, action="/a") == {"csrf_token": "tok", "email": "a@nhs.net",
                                              "score": "3", "group": "nurse",
                                              "comment": "Kind & clear"}
    assert extract_links("See http://localhost/s/x.y, then (https://a.b/c).") == [
        "http://localhost/s/x.y", "https://a.b/c"]
    assert path_of("http://localhost:5000/s/tok?page=2") == "/s/tok?page=2"
    with pytest.raises(AssertionError):
        csrf_token("<p>no form</p>")


def test_client_runs_work_scheduled_after_the_response(app, client):
    from flask import make_response

    closed = []

    @app.get("/_close")
    def close_hook():
        response = make_response("ok")
        response.call_on_close(lambda: closed.append(True))
        return response

    assert client.get("/_close").text == "ok"
    assert closed == [True]


def test_instance_folder_is_per_test(app, tmp_path):
    assert app.instance_path == str(tmp_path / "instance")
