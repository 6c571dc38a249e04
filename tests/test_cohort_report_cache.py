"""The cohort's audited analysis is kept per process and rebuilt whenever its basis changes.

The expensive part of a cohort report (150,000 score rows for 5,000 trainees, the invitation
counts, the disclosure audit) runs once per state of the cohort; these tests prove a repeat asks
the database for no score row, and that every change the figures depend on gives a new analysis.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event
from test_cohort_report_views import closed_cycle, cohort  # noqa: F401 - the fixture

from feedback360.extensions import db
from feedback360.models import User
from feedback360.services.cohort_reports import ReportFilters, analysis, cohort_report


@contextmanager
def statements():
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_repeat_reuses_the_analysis_without_reading_scores(app, cohort):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
        with statements() as seen:
            again = analysis(cohort["id"])
            report = cohort_report(ReportFilters(cohort["id"]), again)
        assert again is first
        assert report.scores_shown
        assert not [s for s in seen if "cycle_scores" in s or "invitations" in s]


def test_a_changed_attribute_gives_a_new_analysis(app, cohort):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
        db.session.get(User, cohort["trainee_ids"][0]).site = "Bradford"
        db.session.commit()
        changed = analysis(cohort["id"])
        assert changed is not first
        assert "Bradford" in set(changed.people["site"])


def test_a_newly_closed_cycle_gives_a_new_analysis(app, cohort):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
    closed_cycle(app, cohort["trainee_ids"][0], 99)
    with app.app_context():
        assert analysis(cohort["id"]) is not first


def test_another_anonymity_threshold_gives_a_new_analysis(app, cohort):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
        app.config["COHORT_MIN_TRAINEES"] = 7
        assert analysis(cohort["id"]) is not first
