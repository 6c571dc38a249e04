"""A cycle keeps the trainee's specialty, training year and site as it closed (issue 9, point 5):
cohort reports group closed cycles by those, so correcting the user later moves nobody between
published cells; a correction to a past cycle is an explicit, audited admin action that
rebuilds the analyses. The cohort is test_cohort_report_views' (13 trainees, one launch)."""

from __future__ import annotations

import itertools

import pytest
from helpers import csrf_token
from test_cohort_report_views import PEOPLE, cohort, lead  # noqa: F401  (fixtures)
from test_migrations import empty_database_url, migrations_app  # noqa: F401  (fixtures)

from feedback360.extensions import db
from feedback360.models import AuditEvent, FeedbackCycle, StoredCohortAnalysis, User
from feedback360.services.cohort_analyses import basis_key, settings
from feedback360.services.cohort_basis import load_basis
from feedback360.services.cohort_reports import ReportFilters, cohort_report

MOVED = 0  # a Medical Physics, year 2, Leeds trainee: Leeds 9 -> 8, York 4 -> 5 if it moved


def published(app, cohort_id: int, launch_id: int) -> dict:
    """Every figure every selection shows (the roster count aside: that is who is in the cohort
    now, which the lead manages and sees anyway)."""
    shown = {}
    specialties = {s for s, _, _ in PEOPLE}
    with app.app_context():
        for launch, specialty, year, site in itertools.product(
                (None, launch_id), (None, *specialties), (None, 1, 2, 3),
                (None, "Leeds", "York")):
            report = cohort_report(ReportFilters(cohort_id, launch, specialty, year, site))
            if not report.publishable:
                continue
            part = report.participation
            shown[launch, specialty, year, site] = (
                part.launched, part.scored, part.total, report.domains, report.elements,
                report.perception,
                {(b.dimension, c.label): (c.n, c.rows) for b in report.breakdowns
                 for c in b.cells if c.n is not None})
    return shown


def correction_page(cycle_id: int) -> str:
    return f"/admin/cycles/{cycle_id}/attributes"


def test_closing_a_cycle_records_the_trainees_attributes(app, cohort):  # noqa: F811
    with app.app_context():
        for cycle_id, (specialty, year, site) in zip(cohort["cycle_ids"], PEOPLE, strict=True):
            cycle = db.session.get(FeedbackCycle, cycle_id)
            assert (cycle.specialty_at_close, cycle.training_year_at_close,
                    cycle.site_at_close) == (specialty, year, site)


def test_correcting_a_users_site_after_close_changes_no_published_cell(app, cohort):  # noqa: F811
    before = published(app, cohort["id"], cohort["launch_id"])
    assert len(before) >= 4
    with app.app_context():
        db.session.get(User, cohort["trainee_ids"][MOVED]).site = "York"
        db.session.commit()
    assert published(app, cohort["id"], cohort["launch_id"]) == before


def test_the_admin_correction_moves_the_cycle_and_is_audited(app, cohort, lead):  # noqa: F811
    before = published(app, cohort["id"], cohort["launch_id"])
    cycle_id = cohort["cycle_ids"][MOVED]
    page = lead.get(correction_page(cycle_id))
    assert page.status_code == 200 and "Site at close" in page.text
    answer = lead.post(correction_page(cycle_id), data={
        "csrf_token": csrf_token(page), "specialty": "Medical Physics", "training_year": "2",
        "site": "York", "reason": "Placement recorded at the wrong site"})
    assert answer.status_code == 302
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        assert cycle.site_at_close == "York"
        assert db.session.get(User, cycle.trainee_id).site == "Leeds"  # the profile is not
        event = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.action == "cycle.attributes_corrected")).one()
        assert event.target == f"cycle:{cycle_id}"
        assert event.detail["before"]["site"] == "Leeds"
        assert event.detail["after"]["site"] == "York"
        assert event.detail["reason"] == "Placement recorded at the wrong site"
        # rebuilt at once: the stored analysis is the corrected state's
        stored = db.session.get(StoredCohortAnalysis, cohort["id"])
        assert stored.basis_key == basis_key(load_basis(cohort["id"]), settings())
    after = published(app, cohort["id"], cohort["launch_id"])
    assert after != before


@pytest.mark.parametrize(("fields", "message"), [
    ({"site": "York", "reason": " "}, "Say why the attributes are being corrected"),
    ({"specialty": "Medical Physics", "training_year": "2", "site": "Leeds", "reason": "x"},
     "nothing to correct"),
    ({"training_year": "11", "reason": "x"}, "Training year must be between 1 and 10"),
])
def test_a_correction_needs_a_reason_and_a_change(app, cohort, lead, fields, message):  # noqa: F811
    cycle_id = cohort["cycle_ids"][MOVED]
    page = lead.get(correction_page(cycle_id))
    answer = lead.post(correction_page(cycle_id), data={"csrf_token": csrf_token(page),
                                                        **fields})
    assert answer.status_code == 400 and message in answer.text
    with app.app_context():
        assert db.session.get(FeedbackCycle, cycle_id).site_at_close == "Leeds"
        assert not db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.action == "cycle.attributes_corrected")).all()


def test_the_trainees_closed_cycles_are_listed_with_their_attributes(app, cohort, lead):  # noqa: F811
    page = lead.get(f"/admin/trainees/{cohort['trainee_ids'][MOVED]}/cycles")
    assert page.status_code == 200
    assert "Leeds" in page.text and correction_page(cohort["cycle_ids"][MOVED]) in page.text
    assert lead.get(f"/admin/cohorts/{cohort['id']}").text.count("Closed cycles") == 13


def test_the_migration_backfills_closed_cycles_from_their_trainees(migrations_app):  # noqa: F811
    """Cycles closed before revision 0008 take their trainee's current values, the best record
    there is; cycles still open get theirs when they close."""
    from datetime import UTC, date, datetime

    from flask_migrate import upgrade
    from sqlalchemy import text

    now = datetime(2026, 1, 1, tzinfo=UTC)
    with migrations_app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (id, email, name, role, active, session_nonce, created_at, "
                "specialty, training_year, site) VALUES (1, 't@nhs.net', 'T', 'trainee', :yes, "
                "'n', :now, 'Genomics', 2, 'York')"), {"now": now, "yes": True})
            connection.execute(text(
                "INSERT INTO instrument_versions (id, key, version, sha256, title, definition, "
                "created_at) VALUES (1, 'clcf', 1, :sha, 'CLCF', '{}', :now)"),
                {"sha": "0" * 64, "now": now})
            connection.execute(text(
                "INSERT INTO feedback_cycles (id, trainee_id, instrument_version_id, title, "
                "status, closes_on, created_at, opened_at, closed_at) VALUES "
                "(:id, 1, 1, 'Cycle', :status, :closes, :now, :now, :closed)"),
                [{"id": 1, "status": "closed", "closes": date(2026, 2, 1), "now": now,
                  "closed": now},
                 {"id": 2, "status": "open", "closes": date(2026, 2, 1), "now": now,
                  "closed": None}])
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT id, specialty_at_close, training_year_at_close, site_at_close "
                "FROM feedback_cycles ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, "Genomics", 2, "York"), (2, None, None, None)]
