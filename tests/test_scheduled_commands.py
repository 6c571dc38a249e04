"""Cron's commands: spaced, idempotent reminders and closing cycles past their date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from helpers import text_of

from feedback360.extensions import db
from feedback360.models import FeedbackCycle, Invitation, User
from feedback360.services import cycles
from feedback360.templating import format_date

NOMINEES = [("Sam Supervisor", "sup@nhs.net", "supervisor"),
            ("Sid Senior", "senior@nhs.net", "senior"),
            *[(f"Peer {n}", f"peer{n}@nhs.net", "peer") for n in range(1, 9)]]


@pytest.fixture
def open_cycle(app, make_user, smtp):
    """A launched cycle closing in 20 days whose invitations went out 10 days ago."""
    trainee = make_user("trainee@nhs.net", name="Tara Trainee")
    with app.test_request_context():
        user = db.session.get(User, trainee.id)
        cycle = cycles.create_cycle(user, instrument_key="clcf", title="Cycle",
                                    closes_on=cycles.today() + timedelta(days=20))
        for name, email, group in NOMINEES:
            cycles.nominate(cycle, name=name, email=email, group=group)
        cycles.launch(cycle)
        for invitation in cycle.invitations:
            invitation.last_sent_at = datetime.now(UTC) - timedelta(days=10)
        db.session.commit()
        # The invitations stay queued in the outbox: only what the commands send reaches smtp.
        return cycle.id


def days_before_close(app, cycle_id: int, days: int) -> str:
    with app.app_context():
        closes_on = db.session.get(FeedbackCycle, cycle_id).closes_on
    return (closes_on - timedelta(days=days)).isoformat()


def set_status(app, email: str, status: str) -> None:
    with app.app_context():
        invitation = db.session.scalar(db.select(Invitation).where(Invitation.rater_email == email))
        invitation.status = status
        if status == "completed":
            invitation.completed_on = cycles.today()
        db.session.commit()


def test_reminders_are_spaced_idempotent_and_only_for_those_who_have_not_answered(
        app, runner, smtp, open_cycle):
    set_status(app, "peer1@nhs.net", "completed")
    set_status(app, "peer2@nhs.net", "declined")

    early = runner.invoke(args=["send-reminders", "--on", days_before_close(app, open_cycle, 12)])
    assert "0 reminder(s)" in early.output

    week = days_before_close(app, open_cycle, 7)
    first = runner.invoke(args=["send-reminders", "--on", week])
    assert "8 reminder(s)" in first.output, first.output
    assert "1 reminder(s)" not in runner.invoke(args=["send-reminders", "--on", week]).output
    assert "0 reminder(s)" in runner.invoke(args=["send-reminders", "--on", week]).output
    reminded = {m["To"] for m in smtp.messages}
    assert "peer1@nhs.net" not in reminded and "peer2@nhs.net" not in reminded
    assert all(m["Subject"].startswith("Reminder:") for m in smtp.messages)

    last = days_before_close(app, open_cycle, 2)
    assert "8 reminder(s)" in runner.invoke(args=["send-reminders", "--on", last]).output
    assert "0 reminder(s)" in runner.invoke(args=["send-reminders", "--on", last]).output
    # At most two scheduled reminders, however often cron runs.
    assert "0 reminder(s)" in runner.invoke(
        args=["send-reminders", "--on", days_before_close(app, open_cycle, 1)]).output
    assert len(smtp.messages) == 16


def test_close_due_cycles_closes_only_those_past_their_date(app, runner, open_cycle):
    on_the_day = days_before_close(app, open_cycle, 0)
    assert "0 cycle(s) closed" in runner.invoke(args=["close-due-cycles", "--on",
                                                      on_the_day]).output
    after = days_before_close(app, open_cycle, -1)
    assert "1 cycle(s) closed" in runner.invoke(args=["close-due-cycles", "--on", after]).output
    assert "0 cycle(s) closed" in runner.invoke(args=["close-due-cycles", "--on", after]).output
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, open_cycle)
        assert cycle.status == "closed" and cycle.closed_at is not None


def test_the_closing_date_is_the_same_on_every_page_after_the_nightly_close(
        app, runner, client, login, open_cycle):
    """close-due-cycles closes a cycle just after midnight; the day shown stays its closing date
    (the list said "Closing date 7 November", the cycle "Closed 8 November")."""
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, open_cycle)
        closes_on, trainee = cycle.closes_on, cycle.trainee.email
    shown, next_day = format_date(closes_on), format_date(closes_on + timedelta(days=1))
    last_minute = datetime.combine(closes_on, time(23, 59), tzinfo=UTC)
    with time_machine.travel(last_minute, tick=False):
        assert "0 cycle(s) closed" in runner.invoke(args=["close-due-cycles"]).output
    with time_machine.travel(last_minute + timedelta(minutes=6), tick=False):
        assert "1 cycle(s) closed" in runner.invoke(args=["close-due-cycles"]).output
        login(client, trainee)
        pages = [text_of(client.get(path)) for path in ("/cycles/", f"/cycles/{open_cycle}")]
    for page in pages:
        assert shown in page and next_day not in page


@pytest.mark.parametrize(("closed", "shown"), [
    (None, date(2026, 11, 7)),  # still open
    (datetime(2026, 11, 8, 0, 5, tzinfo=UTC), date(2026, 11, 7)),  # by cron, the night after
    (datetime(2026, 11, 30, 2, 0, tzinfo=UTC), date(2026, 11, 7)),  # cron was down for weeks
    (datetime(2026, 11, 7, 15, 0, tzinfo=UTC), date(2026, 11, 7)),  # early, on the day
    (datetime(2026, 11, 3, 23, 59, tzinfo=UTC), date(2026, 11, 3)),  # early
])
def test_closing_date(closed, shown):
    assert FeedbackCycle(closes_on=date(2026, 11, 7), closed_at=closed).closing_date == shown
