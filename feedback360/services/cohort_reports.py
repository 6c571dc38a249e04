"""Cohort reports (issue 5, points 3 and 4): a CohortReport for any filters, and the exports' rows.

What the report is built from and how is ``cohort_basis``; the audited analysis behind every
report of a cohort is made once per state of the cohort and kept by ``cohort_analyses``. This
module answers a selection from it and makes the item-level file. Flushes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pandas as pd

from ..extensions import db
from ..models import CohortLaunch, CohortLaunchCycle, CycleScore, FeedbackCycle, User
from ..scoring.cohort import DIMENSIONS, CohortAnalysis, CohortReport, Selection
from . import DomainError
from .cohort_analyses import analysis, settings
from .cohort_basis import find_cohort, frame_of

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


ITEM_COLUMNS = ["trainee", "domain", "element", "item", "statement", "self_score",
                "others_mean"]


def item_level_rows(filters: ReportFilters) -> pd.DataFrame:
    """Item-level rows for programme evaluation: one per scored trainee and item, each trainee
    known only by a pseudonym drawn afresh for every call.

    Only for one whole launch (no specialty, year or site filter) whose scores the report shows:
    these are one row per trainee, and rows can be matched between files by their values, so
    two overlapping selections would give away the rows in one but not the other. Launches
    never share a cycle, so their files share no row. There is no attribute column and no count
    of raters (the launch's progress page shows those per trainee, which would name the row).
    """
    if filters.launch_id is None or any(getattr(filters, d) is not None for d in DIMENSIONS):
        raise DomainError("The item-level file is available for one whole launch: choose a "
                          "launch and no specialty, training year or site.")
    audited = analysis(filters.cohort_id)
    report = cohort_report(filters, audited)
    if audited is None or not report.scores_shown:
        raise DomainError(report.message or "This launch's scores cannot be shown.")
    ids = audited.scored_cycle_ids(filters.selection)
    rows = frame_of(
        db.select(CycleScore.cycle_id, CycleScore.key, CycleScore.self_score,
                  CycleScore.others_mean)
        .join(CohortLaunchCycle, CohortLaunchCycle.cycle_id == CycleScore.cycle_id)
        .where(CohortLaunchCycle.launch_id == filters.launch_id, CycleScore.level == "item"),
        ["cycle_id", "item", "self_score", "others_mean"])
    rows = rows[rows["cycle_id"].isin(ids)]
    pseudonyms = _pseudonyms(ids)
    instrument = audited.instrument
    order = {key: i for i, key in enumerate(instrument.item_keys)}
    rows = rows[rows["item"].isin(order)].copy()
    rows["trainee"] = rows["cycle_id"].map(pseudonyms)
    for column, title in (("domain", lambda k: instrument.domain_of_item(k).title),
                          ("element", lambda k: instrument.element_of_item(k).title),
                          ("statement", lambda k: instrument.item(k).text)):
        rows[column] = rows["item"].map({key: title(key) for key in order})
    rows["order"] = rows["item"].map(order)
    rows = rows.sort_values(["trainee", "order"])
    return rows[ITEM_COLUMNS].astype({"self_score": "float64", "others_mean": "float64"}
                                     ).reset_index(drop=True)


def _pseudonyms(cycle_ids: list[int]) -> dict[int, str]:
    """A fresh random label per trainee: sorted by label, the file's order says nothing."""
    labels: set[str] = set()
    while len(labels) < len(cycle_ids):
        labels.add(f"T-{secrets.token_hex(4).upper()}")
    shuffled = sorted(labels)
    secrets.SystemRandom().shuffle(shuffled)
    return dict(zip(cycle_ids, shuffled, strict=True))

