"""The outbox: mail is written with the change it announces and can never be lost."""

from __future__ import annotations

from pathlib import Path

from feedback360 import mail
from feedback360.extensions import db
from feedback360.models import OutboxMessage, User


def queue_welcome(app, to: str = "someone@nhs.net") -> int:
    with app.test_request_context():
        user = User(email=to, name="Sam Someone", role="trainee", session_nonce="n")
        message = mail.queue(to, "Welcome", "activate_account", user=user, invited_by=None,
                             link="http://localhost/auth/activate/x", days=7)
        db.session.commit()
        return message.id


def statuses() -> list[tuple[str, int]]:
    return [(m.status, m.attempts) for m in db.session.scalars(db.select(OutboxMessage))]


def test_messages_are_part_of_the_callers_transaction(app):
    with app.test_request_context():
        user = User(email="x@nhs.net", name="X", role="trainee", session_nonce="n")
        mail.queue("x@nhs.net", "Welcome", "activate_account", user=user, invited_by=None,
                   link="http://localhost/a", days=7)
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_text_and_html_bodies_reach_the_smtp_server(app, smtp):
    message_id = queue_welcome(app)
    with app.app_context():
        report = mail.deliver_due([message_id])
    assert report.sent == 1
    [received] = smtp.messages
    assert received["Subject"] == "Welcome"
    assert "Activate your account" in received.get_body(("html",)).get_content()
    assert "http://localhost/auth/activate/x" in received.get_body(("plain",)).get_content()


def test_an_smtp_outage_delays_mail_but_loses_none(app, smtp, runner):
    smtp.stop()
    ids = [queue_welcome(app, f"rater{n}@nhs.net") for n in range(3)]
    with app.app_context():
        report = mail.deliver_due(ids)
        assert report.retrying == 3
        assert statuses() == [("pending", 1)] * 3
        assert all(m.last_error for m in db.session.scalars(db.select(OutboxMessage)))
        db.session.remove()

    smtp.start()
    # Still backing off: the plain cron run waits, --now retries at once.
    assert "sent 0" in runner.invoke(args=["deliver-mail"]).output
    result = runner.invoke(args=["deliver-mail", "--now"])
    assert "sent 3" in result.output, result.output
    again = runner.invoke(args=["deliver-mail", "--now"])
    assert "sent 0" in again.output
    assert sorted(m["To"] for m in smtp.messages) == [f"rater{n}@nhs.net" for n in range(3)]


def test_gives_up_after_the_maximum_attempts(app, smtp):
    smtp.stop()
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    message_id = queue_welcome(app)
    with app.app_context():
        mail.deliver_due([message_id], ignore_backoff=True)
        report = mail.deliver_due([message_id], ignore_backoff=True)
        assert report.failed == 1
        assert statuses() == [("failed", 2)]


def test_requests_deliver_what_they_queued_after_the_response(client, smtp, make_user):
    make_user("known@nhs.net")
    from helpers import csrf_token

    page = client.get("/auth/forgot-password")
    client.post("/auth/forgot-password", data={"email": "known@nhs.net",
                                               "csrf_token": csrf_token(page.text)})
    assert [m["To"] for m in smtp.messages] == ["known@nhs.net"]


def test_file_backend_writes_eml_files(app, caplog):
    app.config["MAIL_BACKEND"] = "file"
    message_id = queue_welcome(app)
    with app.app_context():
        assert mail.deliver_due([message_id]).sent == 1
    [eml] = list((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert b"Subject: Welcome" in eml.read_bytes()
    assert str(eml) in caplog.text
    assert "/auth/activate/" not in caplog.text  # the link stays in the file (log_redaction.py)
