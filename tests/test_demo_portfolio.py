"""Demo portfolios (issue 13, point 8): a catalogue, activities and education, written feedback
given, waiting and declined, time used and unavailable, one letter; a gap that shows; idempotent."""

from __future__ import annotations

from collections import Counter

from feedback360.demo import seed_demo
from feedback360.extensions import db
from feedback360.models import (
    Activity,
    ActivityFeedbackRequest,
    LeadershipOpportunity,
    Letter,
    TimeReport,
    User,
)
from feedback360.services.portfolio_summary import summary_for

COUNTED = (Activity, ActivityFeedbackRequest, LeadershipOpportunity, Letter, TimeReport)


def _counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in COUNTED}


def test_demo_portfolios(app):
    with app.test_request_context():
        seed_demo("demo passphrase words")
        db.session.commit()
        seeded = _counts()
        assert all(seeded.values()), seeded
        kinds = Counter(db.session.scalars(db.select(Activity.kind)))
        assert kinds["doing"] >= 5 and kinds["education"] >= 3
        statuses = set(db.session.scalars(db.select(ActivityFeedbackRequest.status)))
        assert {"given", "declined", "sent", "opened"} <= statuses
        assert set(db.session.scalars(db.select(TimeReport.kind))) == {"used", "unavailable"}
        (letter,) = db.session.scalars(db.select(Letter))
        assert letter.trainee.name == "Daniel Kowalski"
        assert letter.content["activities"] and letter.content["activities"][0]["feedback"]

        ben = db.session.scalar(db.select(User).where(User.name == "Ben Hughes"))
        summary = summary_for(ben)
        assert summary.released_cycle is not None and summary.gaps
        assert all(gap.opportunities for gap in summary.gaps)
        empty = db.session.scalar(db.select(User).where(User.name == "Lucy Morgan"))
        assert summary_for(empty).totals.activities == 0

        seed_demo("demo passphrase words")
        db.session.commit()
        assert _counts() == seeded
