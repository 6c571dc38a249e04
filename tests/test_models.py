"""Check constraints make invalid states impossible in the database itself."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError, StatementError

from feedback360.extensions import db
from feedback360.models import (
    Answer,
    Comment,
    FeedbackCycle,
    InstrumentVersion,
    Invitation,
    Response,
    User,
)


@pytest.fixture
def cycle(app, make_user):
    trainee = make_user("trainee@nhs.net")
    with app.app_context():
        version = InstrumentVersion(key="clcf", version=1, sha256="0" * 64, title="CLCF",
                                    definition={})
        cycle = FeedbackCycle(trainee_id=trainee.id, instrument_version=version, title="Cycle 1",
                              closes_on=date(2027, 1, 31))
        db.session.add(cycle)
        db.session.commit()
        return cycle.id


def refused(app, *objects, changes=None) -> None:
    """Adding ``objects`` (or applying ``changes``) must be rejected by the database."""
    with app.app_context():
        with pytest.raises((IntegrityError, StatementError)):
            for obj in objects:
                db.session.add(obj)
            if changes:
                changes()
            db.session.flush()
        db.session.rollback()


def test_user_role_and_email_case(app):
    refused(app, User(email="a@nhs.net", name="A", role="superuser", session_nonce="n"))
    refused(app, User(email="A@nhs.net", name="A", role="trainee", session_nonce="n"))
    refused(app, User(email="a@nhs.net", name="A", role="trainee", session_nonce="n",
                      training_year=12))


def test_email_is_unique(app, make_user):
    make_user("one@nhs.net")
    refused(app, User(email="one@nhs.net", name="Again", role="coach", session_nonce="n"))


def test_cycle_status_rules(app, cycle):
    def set_status(status: str, **fields):
        def change():
            row = db.session.get(FeedbackCycle, cycle)
            row.status = status
            for name, value in fields.items():
                setattr(row, name, value)
        return change

    refused(app, changes=set_status("finished"))
    refused(app, changes=set_status("open"))  # opened without a time
    now = datetime.now(UTC)
    refused(app, changes=set_status("closed", opened_at=now))  # closed without a time
    refused(app, changes=set_status("released", opened_at=now, closed_at=now, released_at=now))


def test_scores_stay_in_range_and_one_self_response_per_cycle(app, cycle):
    response_id = uuid.uuid4()
    refused(app, Response(id=response_id, cycle_id=cycle, rater_group="peer"),
            Answer(response_id=response_id, item_key="x", score=11))
    refused(app, Response(cycle_id=cycle, is_self=True),
            Response(cycle_id=cycle, is_self=True))
    refused(app, Response(cycle_id=cycle, is_self=True, rater_group="peer"))
    refused(app, Response(cycle_id=cycle, is_self=False, rater_group=None))


def test_comment_length_and_hidden_reason(app, cycle):
    response_id = uuid.uuid4()
    refused(app, Response(id=response_id, cycle_id=cycle, rater_group="peer"),
            Comment(response_id=response_id, prompt_key="strengths", text="x" * 4001))
    other = uuid.uuid4()
    refused(app, Response(id=other, cycle_id=cycle, rater_group="peer"),
            Comment(response_id=other, prompt_key="strengths", text="fine",
                    hidden_at=datetime.now(UTC)))


def test_invitation_states(app, cycle):
    base = {"cycle_id": cycle, "rater_name": "R", "rater_group": "peer", "token_nonce": "n",
            "rater_identity": "r@nhs.net"}
    refused(app, Invitation(rater_email="r@nhs.net", status="lost", **base))
    refused(app, Invitation(rater_email="r@nhs.net", status="completed", **base))
    refused(app, Invitation(rater_email="r@nhs.net", status="declined", draft=b"sealed", **base))
    refused(app, Invitation(rater_email="R@nhs.net", **base))
    refused(app, Invitation(rater_email="r@nhs.net", **base),
            Invitation(rater_email="r@nhs.net", **base))
    refused(app, Invitation(rater_email="r@nhs.net", **{**base, "rater_identity": "r"}))


def test_datetimes_come_back_timezone_aware(app, make_user):
    user = make_user("aware@nhs.net")
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.created_at.tzinfo is not None
        with pytest.raises(StatementError):
            stored.last_login_at = datetime(2026, 1, 1)  # naive
            db.session.flush()
