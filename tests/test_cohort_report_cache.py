"""A cohort's audited analysis is made once per state of the cohort and kept: per process and in
the database (``cohort_analyses``), and rebuilt whenever anything it depends on changes.

The expensive part of a cohort report (150,000 score rows for 5,000 trainees, the invitation
counts, the disclosure audit) runs once per state of the cohort; these tests prove a repeat, in
this process or a new one, asks the database for no score row and gives the very same reports,
and that every change the figures depend on gives a new analysis.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event
from test_cohort_report_views import closed_cycle, cohort  # noqa: F401 - the fixture

from feedback360.extensions import db
from feedback360.models import StoredCohortAnalysis, User
from feedback360.scoring.cohort import DIMENSIONS, Selection, stored
from feedback360.services import cohort_analyses
from feedback360.services.cohort_reports import ReportFilters, analysis, cohort_report
from feedback360.services.cycles import today


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


def reads_scores(seen: list[str]) -> bool:
    return any("cycle_scores" in s or "invitations" in s for s in seen)


def as_a_new_process() -> None:
    """Forget what this process kept, as another worker or a restarted server has never seen it."""
    cohort_analyses._analyses.clear()


def stored_rows() -> list[StoredCohortAnalysis]:
    return list(db.session.scalars(db.select(StoredCohortAnalysis)))


def every_selection(made) -> list[Selection]:  # type: ignore[no-untyped-def]
    """Every selection a lead could ask for: each choice of launch, each filter combination."""
    people = made.people
    values = {d: [None, *sorted({int(v) if d == "training_year" else v
                                 for v in people[d] if v != "\x00"})] for d in DIMENSIONS}
    return [Selection(launch, specialty, year, site)
            for launch in made.choices for specialty in values["specialty"]
            for year in values["training_year"] for site in values["site"]]


def test_a_repeat_reuses_the_analysis_without_reading_scores(app, cohort):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
        with statements() as seen:
            again = analysis(cohort["id"])
            report = cohort_report(ReportFilters(cohort["id"]), again)
        assert again is first
        assert report.scores_shown
        assert not reads_scores(seen)


def test_another_process_gets_the_same_reports_from_the_stored_analysis(app, cohort):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
        [row] = stored_rows()
        assert row.cohort_id == cohort["id"] and len(row.basis_key) == 64
        as_a_new_process()
        with statements() as seen:
            restored = analysis(cohort["id"])
        assert restored is not first
        assert not reads_scores(seen)
        selections = every_selection(first)
        assert len(selections) > 50
        for selection in selections:
            assert restored.report(selection) == first.report(selection), selection
        assert restored.scored_cycle_ids(Selection()) == first.scored_cycle_ids(Selection())


def test_a_changed_attribute_gives_a_new_analysis_stored_in_place(app, cohort):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
        [before] = [(row.basis_key, row.computed_at) for row in stored_rows()]
        db.session.get(User, cohort["trainee_ids"][0]).site = "Bradford"
        db.session.commit()
        as_a_new_process()
        changed = analysis(cohort["id"])
        assert changed is not first
        assert "Bradford" in set(changed.people["site"])
        db.session.expire_all()
        [after] = [(row.basis_key, row.computed_at) for row in stored_rows()]
        assert after[0] != before[0] and after[1] >= before[1]


def test_a_newly_closed_cycle_gives_a_new_analysis(app, cohort):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
    closed_cycle(app, cohort["trainee_ids"][0], 99)
    with app.app_context():
        as_a_new_process()
        assert analysis(cohort["id"]) is not first
        assert len(analysis(cohort["id"]).frame) == len(first.frame) + 1


def test_another_anonymity_threshold_gives_a_new_analysis(app, cohort):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
        app.config["COHORT_MIN_TRAINEES"] = 7
        as_a_new_process()
        again = analysis(cohort["id"])
        assert again is not first and again.min_trainees == 7


@pytest.mark.parametrize("payload", [b"not an npz file", b"PK\x03\x04damaged", b""])
def test_a_damaged_stored_analysis_is_rebuilt_not_served(app, cohort, payload, caplog):  # noqa: F811
    with app.app_context():
        first = analysis(cohort["id"])
        db.session.execute(db.update(StoredCohortAnalysis).values(payload=payload))
        db.session.commit()
        as_a_new_process()
        with caplog.at_level(logging.WARNING, logger=cohort_analyses.__name__):
            rebuilt = analysis(cohort["id"])
        assert "rebuilding" in caplog.text
        assert rebuilt.report() == first.report()
        db.session.expire_all()
        assert stored.loads(stored_rows()[0].payload, first.instrument, first.min_trainees,
                            first.threshold).report() == first.report()


def test_an_analysis_of_another_format_is_refused(app, cohort, monkeypatch):  # noqa: F811
    with app.app_context():
        data = stored.dumps(analysis(cohort["id"]))
        monkeypatch.setattr(stored, "FORMAT", stored.FORMAT + 1)
        with pytest.raises(stored.UnreadableAnalysis, match="format"):
            stored.loads(data, analysis(cohort["id"]).instrument, 5, 1.0)


def test_a_failed_write_of_the_stored_analysis_does_not_fail_the_report(
        app, cohort, monkeypatch, caplog):  # noqa: F811
    # a key the table's check constraint refuses: the database turns the write down
    monkeypatch.setattr(cohort_analyses, "basis_key", lambda *_: "short")
    with app.app_context(), caplog.at_level(logging.WARNING, logger=cohort_analyses.__name__):
        assert cohort_report(ReportFilters(cohort["id"])).scores_shown
        assert "Could not store the analysis" in caplog.text
        assert stored_rows() == []


def test_closing_due_cycles_rebuilds_the_reports_they_count_in(app, runner, make_cohort,
                                                                make_user):
    earlier = make_cohort("STP 2025 cohort", intake_year=2025)
    current = make_cohort("STP 2026 cohort", intake_year=2026)
    elsewhere = make_cohort("Other programme", programme="Higher Specialist Scientist Training")
    for n, home in enumerate((earlier, elsewhere)):
        closed_cycle(app, make_user(f"old{n}@nhs.net", cohort=home).id, n)
    closed_cycle(app, make_user("due@nhs.net", cohort=current).id, 2, close=False)
    after = (today() + timedelta(days=15)).isoformat()
    result = runner.invoke(args=["close-due-cycles", "--on", after])
    assert result.exit_code == 0, result.output
    assert "1 cycle(s) closed" in result.output
    assert "2 cohort report(s) rebuilt" in result.output  # this intake and the earlier one
    with app.app_context():
        assert {row.cohort_id for row in stored_rows()} == {earlier.id, current.id}
    result = runner.invoke(args=["refresh-cohort-reports"])
    assert result.exit_code == 0, result.output
    assert "1 cohort report(s) rebuilt, 2 up to date" in result.output  # the other programme
    result = runner.invoke(args=["refresh-cohort-reports", "--cohort", str(current.id)])
    assert "0 cohort report(s) rebuilt, 1 up to date" in result.output
    result = runner.invoke(args=["refresh-cohort-reports", "--cohort", "999999"])
    assert result.exit_code == 2 and "no cohort with id 999999" in result.output
