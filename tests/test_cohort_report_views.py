"""The cohort report, GET /cohorts/<id>/report, and its exports, through the real views.

Cycles are built as tests/test_reports.py builds them (services, rows as the survey stores them,
``close_cycle``), so the ``CycleScore`` rows the report reads are the real ones.
"""

from __future__ import annotations

import pytest
from test_reports import build_cycle

from feedback360.extensions import db
from feedback360.models import CohortLaunch, CohortLaunchCycle, FeedbackCycle
from feedback360.services.cohort_reports import ReportFilters, cohort_report, item_level_rows

# (specialty, training year, site) of each trainee: Medical Physics has 6, Genomics 5, Audiology
# 2 (always hidden); year 2 holds 5 of Medical Physics' 6 (so Medical Physics minus year 2 would
# single one out).
PEOPLE = ([("Medical Physics", 2, "Leeds")] * 5 + [("Medical Physics", 1, "York")]
          + [("Genomics", 1, "York")] * 3 + [("Genomics", 3, "Leeds")] * 2
          + [("Audiology", 1, "Leeds")] * 2)


@pytest.fixture
def cohort(app, make_cohort, make_user):
    cohort = make_cohort("STP 2026 cohort", intake_year=2026)
    trainees = [make_user(f"t{n}@nhs.net", cohort=cohort, specialty=s, training_year=y, site=site)
                for n, (s, y, site) in enumerate(PEOPLE)]
    cycle_ids = [build_cycle(app, t.id) for t in trainees]
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_ids[0])
        launch = CohortLaunch(cohort_id=cohort.id, title="Spring 360",
                              instrument_version_id=cycle.instrument_version_id,
                              closes_on=cycle.closes_on)
        db.session.add(launch)
        db.session.flush()
        for cycle_id, trainee in zip(cycle_ids, trainees, strict=True):
            db.session.add(CohortLaunchCycle(cycle_id=cycle_id, launch_id=launch.id,
                                             trainee_id=trainee.id))
        db.session.commit()
        return {"id": cohort.id, "launch_id": launch.id, "cycle_ids": cycle_ids}


def test_service_builds_the_report(app, cohort):
    with app.app_context():
        report = cohort_report(ReportFilters(cohort["id"]))
        assert report.participation.launched == len(PEOPLE)
        assert report.domains[0].others.n == len(PEOPLE)
        rows = item_level_rows(ReportFilters(cohort["id"], launch_id=cohort["launch_id"]))
        assert rows["trainee"].nunique() == len(PEOPLE)
