"""The outbox (DESIGN.md, Mail): messages are rows written in the caller's transaction.

Nothing is sent while a request is deciding whether to commit. After the response has gone, the
messages that request queued are delivered; ``flask deliver-mail`` (run by cron) delivers whatever
is still due, with exponential back-off, so an SMTP outage delays mail but never loses it.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, Response, current_app, g, render_template
from sqlalchemy import or_, update

from .extensions import db
from .models import OutboxMessage
from .text_input import one_line

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)


def queue(to: str, subject: str, template: str, **context: Any) -> OutboxMessage:
    """Render ``templates/mail/<template>.txt`` and ``.html`` into an outbox row (flushed)."""
    message = OutboxMessage(
        to_address=to,
        subject=one_line(subject),  # a header: a name with a line break would not send
        text_body=render_template(f"mail/{template}.txt", subject=subject, **context),
        html_body=render_template(f"mail/{template}.html", subject=subject, **context),
    )
    db.session.add(message)
    db.session.flush()
    g.setdefault("outbox_queued", []).append(message.id)
    return message


class Backend(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SMTPBackend:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def send(self, message: EmailMessage) -> None:
        cfg = self.config
        smtp_class = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
        with smtp_class(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls()
            if cfg["MAIL_USERNAME"]:
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
            smtp.send_message(message)


class FileBackend:
    """Development: each message becomes an ``.eml`` file in the instance folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}.eml"
        path.write_bytes(bytes(message))
        # The link is in the file only: every link the app mails carries a token, and no token
        # reaches a log (log_redaction.py).
        log.warning("Mail to %s (%s) written to %s", message["To"], message["Subject"], path)


def backend_for(app: Flask) -> Backend:
    if app.config["MAIL_BACKEND"] == "file":
        return FileBackend(Path(app.instance_path) / "outbox")
    if app.config["MAIL_BACKEND"] == "smtp":
        return SMTPBackend(app.config)
    raise ValueError(f"unknown MAIL_BACKEND {app.config['MAIL_BACKEND']!r}")


def build_email(row: OutboxMessage, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Message-ID"] = make_msgid(domain="feedback360.invalid")
    message.set_content(row.text_body)
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html")
    return message


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _claim(message_id: int, now: datetime, ignore_backoff: bool) -> bool:
    """Take one message for this process; concurrent deliverers never both send it."""
    due = or_(
        OutboxMessage.status == "pending",
        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - STALE_CLAIM),
    )
    if not ignore_backoff:
        due = due & (OutboxMessage.next_attempt_at <= now)
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, due)
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver_due(ids: list[int] | None = None, *, ignore_backoff: bool = False) -> DeliveryReport:
    """Deliver due messages (only ``ids`` if given). Commits per message: this is a worker."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    backend = backend_for(app)
    report = DeliveryReport()
    query = db.select(OutboxMessage.id).where(OutboxMessage.status.in_(("pending", "sending")))
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    candidate_ids = list(db.session.scalars(query.order_by(OutboxMessage.id)))
    db.session.rollback()
    for message_id in candidate_ids:
        now = datetime.now(UTC)
        if not _claim(message_id, now, ignore_backoff):
            continue
        row = db.session.get(OutboxMessage, message_id)
        if row is None:  # pragma: no cover - deleted between claim and read
            continue
        try:
            backend.send(build_email(row, app.config["MAIL_DEFAULT_SENDER"]))
        except (OSError, smtplib.SMTPException) as exc:
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= app.config["MAIL_MAX_ATTEMPTS"]:
                row.status = "failed"
                report.failed += 1
                log.error("Giving up on outbox message %s after %s attempts: %s",
                          row.id, row.attempts, row.last_error)
            else:
                row.status = "pending"
                row.next_attempt_at = now + min(timedelta(minutes=2 ** row.attempts), MAX_BACKOFF)
                report.retrying += 1
                log.warning("Outbox message %s not delivered (attempt %s): %s",
                            row.id, row.attempts, row.last_error)
        else:
            row.status = "sent"
            row.sent_at = datetime.now(UTC)
            row.last_error = None
            report.sent += 1
        db.session.commit()
    return report


class _ClosedOnceSent:
    """A response body that closes itself (running its ``call_on_close`` work) as soon as the
    server has taken its last chunk, instead of waiting for the server to call ``close()``.

    WSGI servers call ``close()`` when they are done with a body, but not always: Werkzeug's
    development server (``make demo``) first drains the socket and skips ``close()`` when that
    read fails, as it does whenever a browser resets the connection of a redirect whose body it
    did not read. Mail that request queued was then left for ``deliver-mail``. A later
    ``close()`` from the server does nothing more.
    """

    def __init__(self, body: Iterable[bytes]) -> None:
        self._body = body
        self._chunks = iter(body)
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:  # the end (StopIteration) or a failure: the body is done either way
            self.close()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


def _close_once_sent(wsgi_app: Callable[..., Any]) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        body = wsgi_app(environ, start_response)
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(body, file_wrapper):
            return body  # a file the server sends itself (sendfile); it queues no mail
        return _ClosedOnceSent(body)

    return app


def register_delivery_after_request(app: Flask) -> None:
    """Deliver what a request queued once its response has been sent, whatever the server."""
    app.wsgi_app = _close_once_sent(app.wsgi_app)  # type: ignore[method-assign]

    @app.after_request
    def deliver_after_response(response):  # type: ignore[no-untyped-def]
        queued = g.pop("outbox_queued", None)
        if queued and app.config["MAIL_DELIVER_AFTER_REQUEST"]:
            def deliver() -> None:
                with app.app_context():
                    try:
                        deliver_due(list(queued))
                    except Exception:  # the cron job will retry; never break a response
                        log.exception("Delivering mail after the request failed")
                    finally:
                        db.session.remove()

            response.call_on_close(deliver)
        return response


def queue_after_response(response: Response, job: Callable[[], None]) -> Response:
    """Run ``job`` (which may queue mail) once ``response`` has gone, commit, then deliver.

    For work whose cost would tell the person waiting something they must not learn: a reset
    request for an address with an account does more than one for an address without, so the
    request itself only answers, and the lookup and the mail happen here, after the answer has
    been sent. A worker stopped in between loses that request (nothing was committed); the
    person asks again.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                job()
                db.session.commit()
                queued = g.pop("outbox_queued", None)
                if queued and app.config["MAIL_DELIVER_AFTER_REQUEST"]:
                    deliver_due(list(queued))
            except Exception:  # never break a response; the person can ask again
                db.session.rollback()
                log.exception("Work queued after a response failed")
            finally:
                db.session.remove()

    response.call_on_close(run)
    return response
