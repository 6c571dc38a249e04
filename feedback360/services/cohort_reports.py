"""Cohort reports (issue 5, points 3 and 4): a CohortReport for any filters, and the exports' rows.

What the report is built from and how is ``cohort_basis``; the audited analysis behind every
report of a cohort is made once per state of the cohort and kept by ``cohort_analyses``. This
module answers a selection from it and makes the statement-level (item) file. Flushes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..extensions import db
from ..models import CohortLaunch, CycleScore, FeedbackCycle, User
from ..scoring.cohort import CohortAnalysis, CohortReport, Selection
from ..scoring.cohort.items import item_table
from . import DomainError
from .cohort_analyses import analysis, settings
from .cohort_basis import ID_CHUNK, find_cohort, frame_of

__all__ = ["FilterOptions", "ReportFilters", "analysis", "cohort_report", "filter_options",
           "item_level_rows"]


@dataclass(frozen=True)
class ReportFilters:
    cohort_id: int
    launch_id: int | None = None  # one cohort launch only
    specialty: str | None = None
    training_year: int | None = None
    site: str | None = None

    @property
    def selection(self) -> Selection:
        return Selection(self.launch_id, self.specialty, self.training_year, self.site)

    def as_dict(self) -> dict[str, object]:
        """The filters as an audit event records them."""
        return {"launch_id": self.launch_id, "specialty": self.specialty,
                "training_year": self.training_year, "site": self.site}


@dataclass(frozen=True)
class FilterOptions:
    """What the filter form offers: the cohort's launches and recorded attribute values."""

    launches: list[tuple[int, str]]
    specialties: list[str]
    training_years: list[int]
    sites: list[str]


def cohort_report(filters: ReportFilters, audited: CohortAnalysis | None = None
                  ) -> CohortReport:
    """The report for these filters (needs an app context). Unpublishable filters give a report
    with a message and no numbers; NotFound for an unknown cohort. ``audited``: the cohort's
    :func:`analysis`, when the caller has it already."""
    audited = audited or analysis(filters.cohort_id)
    if audited is None:
        return _empty_report(filters)
    return audited.report(filters.selection)


def _empty_report(filters: ReportFilters) -> CohortReport:
    return CohortReport(selection=filters.selection, min_trainees=settings().min_trainees,
                        scale_min=1, scale_max=5, threshold=1.0, band_labels=(), domain_titles={},
                        has_cycles=False, participation=None,
                        message="No feedback cycle of this cohort has closed yet.")


def filter_options(cohort_id: int) -> FilterOptions:
    find_cohort(cohort_id)
    launches = db.session.execute(
        db.select(CohortLaunch.id, CohortLaunch.title).where(CohortLaunch.cohort_id == cohort_id)
        .order_by(CohortLaunch.launched_at.desc(), CohortLaunch.id.desc())).all()
    members = (User.cohort_id == cohort_id, User.role == "trainee")
    # the trainees' attributes now, and those their cycles closed with (what the report groups)
    values = db.session.execute(db.union(
        db.select(User.specialty, User.training_year, User.site).where(*members),
        db.select(FeedbackCycle.specialty_at_close, FeedbackCycle.training_year_at_close,
                  FeedbackCycle.site_at_close)
        .join(User, User.id == FeedbackCycle.trainee_id)
        .where(*members, FeedbackCycle.status.in_(("closed", "released"))))).all()
    return FilterOptions(
        launches=[(launch_id, title) for launch_id, title in launches],
        specialties=sorted({s for s, _, _ in values if s}, key=str.casefold),
        training_years=sorted({y for _, y, _ in values if y is not None}),
        sites=sorted({s for _, _, s in values if s}, key=str.casefold))


def item_level_rows(filters: ReportFilters) -> pd.DataFrame:
    """Statement-level figures for programme evaluation: per statement, the trainees n, mean,
    standard deviation and score bands of colleagues' means (and of self-scores), over exactly
    the trainees whose scores the page shows for these filters (``scoring.cohort.items``).

    Cohort aggregates under the page's own audit, never a row per trainee: rows could be matched
    to named trainees through the other pages (their counts on the launch progress page, the
    cells they fall in), and between files by their values.
    """
    audited = analysis(filters.cohort_id)
    report = cohort_report(filters, audited)
    if audited is None or not report.scores_shown:
        raise DomainError(report.message or "These trainees' scores cannot be shown.")
    scored = audited.scored_cycle_ids(filters.selection)
    self_scored = audited.self_scored_cycle_ids(filters.selection)
    rows = pd.concat([frame_of(
        db.select(CycleScore.cycle_id, CycleScore.key, CycleScore.self_score,
                  CycleScore.others_mean)
        .where(CycleScore.cycle_id.in_(scored[start:start + ID_CHUNK]),
               CycleScore.level == "item"),
        ["cycle_id", "item", "self_score", "others_mean"])
        for start in range(0, len(scored), ID_CHUNK)], ignore_index=True)
    return item_table(rows, scored, self_scored or None, audited.instrument,
                      report.band_labels)
