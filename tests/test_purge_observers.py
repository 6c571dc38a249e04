"""Retention of observers' details on written feedback requests never answered: ``flask purge``
blanks the name, address, role, decline reason and any draft ``RATER_DETAILS_RETENTION_DAYS``
after the request ended (declined, withdrawn, or its link expired), and only then; feedback given,
and a letter quoting it, are not touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from helpers import add_activity_with_feedback

from feedback360.extensions import db
from feedback360.models import ActivityFeedbackRequest, CoachAssignment, Letter, User
from feedback360.services import DomainError, letters, written_feedback

ENDED = datetime(2026, 3, 20, 12, tzinfo=UTC)  # when each unanswered request ended
KEPT_DAYS = 365  # RATER_DETAILS_RETENTION_DAYS, as the app fixture has it


@pytest.fixture
def requests(app, make_user):
    """Olu gave feedback (quoted in a letter); Dee declined with a reason, Wyn's request was
    withdrawn and Exa's link expired with a draft started: all three at ENDED."""
    with app.test_request_context():
        trainee = make_user("tia@nhs.net", name="Tia Trainee")
        coach = make_user("cora@nhs.net", role="coach", name="Cora Coach")
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        given = add_activity_with_feedback(trainee.id, "Chaired the audit", observer="Olu Given")
        letters.issue(db.session.get(User, trainee.id), activity_ids=[given.id],
                      title="Leadership in audit", citation="For chairing", by=coach)
        made = {"given": given.feedback_requests[0]}
        for status, observer in (("declined", "Dee Declined"), ("withdrawn", "Wyn Withdrawn"),
                                 ("opened", "Exa Expired")):
            made[status] = add_activity_with_feedback(
                trainee.id, f"Activity {observer}", observer=observer, status="sent"
            ).feedback_requests[0]
        made["declined"].status, made["declined"].declined_at = "declined", ENDED
        made["declined"].decline_reason = "Not there that day"
        made["opened"].status, made["opened"].answers = "opened", {"teams": "A draft"}
        made["opened"].sent_at = ENDED - timedelta(
            days=app.config["OBSERVER_LINK_MAX_AGE_DAYS"])
        with time_machine.travel(ENDED, tick=False):
            written_feedback.withdraw(made["withdrawn"], coach)
        db.session.commit()
        return {status: request.id for status, request in made.items()}


def purge(app, *args: str) -> int:
    result = app.test_cli_runner().invoke(args=["purge", *args])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines()
                if line.startswith("observer details: "))
    return int(line.split()[2])


def details(app, request_id: int) -> tuple[object, ...]:
    with app.app_context():
        request = db.session.get(ActivityFeedbackRequest, request_id)
        return (request.observer_name, request.observer_email, request.observer_role,
                request.decline_reason, request.answers, request.overall, request.status)


def test_unanswered_requests_lose_the_observer_only_after_the_period(app, requests):
    with app.app_context():
        letter_before = db.session.scalar(db.select(Letter.content))
    before = {status: details(app, request_id) for status, request_id in requests.items()}
    with time_machine.travel(ENDED + timedelta(days=KEPT_DAYS - 1), tick=False):
        assert purge(app) == 0
    assert {status: details(app, i) for status, i in requests.items()} == before

    with time_machine.travel(ENDED + timedelta(days=KEPT_DAYS + 1), tick=False):
        assert purge(app, "--dry-run") == 3
        assert purge(app) == 3
        assert purge(app) == 0  # idempotent
    for status in ("declined", "withdrawn", "opened"):
        request_id = requests[status]
        assert details(app, request_id) == ("Name removed",
                                            f"purged-observer-{request_id}@purged.invalid",
                                            None, None, {}, "", status)
    assert details(app, requests["given"]) == before["given"]
    with app.test_request_context():
        assert db.session.scalar(db.select(Letter.content)) == letter_before
        expired = db.session.get(ActivityFeedbackRequest, requests["opened"])
        with pytest.raises(DomainError, match="ask them again"):  # nowhere to send it
            written_feedback.resend(expired, expired.activity.trainee)
