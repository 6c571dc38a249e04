"""What the service already knows about an organisation's trainees, per commitment theme and
quarter: the figures beside the Leadership Commitment tracker and in the board report.

The organisation's trainees for a quarter are those with a placement at one of its sites that
overlaps the quarter. Every figure counts something trainees did, so which figures are shown is
decided by the cohort report's disclosure audit (``scoring.breakdowns.admitted_cells``): each
figure's trainees must number at least ``COHORT_MIN_TRAINEES``, and no two figures (the
time-unavailable total and its reasons, all activities and the shadowing ones, the whole
organisation and those who logged education) may differ by fewer. A figure nobody contributed
to is shown as zero: it says nothing about anyone.

Periods are whole calendar quarters and nothing else: quarters never overlap, so two periods'
figures count disjoint events and differencing them isolates nobody (a free choice of dates
would: 1 January to 31 March less 1 January to 30 March is one day's events, perhaps one
person's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select

from ..extensions import db
from ..models import (
    Activity,
    ActivityFeedbackRequest,
    CoachNote,
    FeedbackCycle,
    LeadershipOpportunity,
    Letter,
    Placement,
    Site,
    TimeReport,
)
from ..models.portfolio import TIME_UNAVAILABLE_REASONS
from ..quarters import Quarter
from ..scoring.breakdowns import admitted_cells

REASON_LABELS = {"rota": "The rota", "service_pressure": "Service pressure",
                 "leave_refused": "Leave refused", "other": "Another reason"}


@dataclass(frozen=True)
class Figure:
    key: str
    theme: str
    label: str
    value: float | None  # None: suppressed
    trainees: int | None  # how many trainees are behind it (None when suppressed)
    unit: str = ""

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Figures:
    quarter: Quarter
    min_trainees: int
    trainees: int | None  # the organisation's trainees in the quarter; None: under threshold
    figures: tuple[Figure, ...]
    reasons: tuple[Figure, ...]  # time-unavailable reports by reason
    opportunities_offered: int

    def of_theme(self, theme: str) -> list[Figure]:
        return [figure for figure in self.figures if figure.theme == theme]

    def as_json(self) -> dict[str, Any]:
        return {"quarter": self.quarter.value, "min_trainees": self.min_trainees,
                "trainees": self.trainees, "opportunities_offered": self.opportunities_offered,
                "figures": [asdict(f) for f in self.figures],
                "reasons": [asdict(f) for f in self.reasons]}


def min_trainees() -> int:
    return int(current_app.config["COHORT_MIN_TRAINEES"])


def _bounds(quarter: Quarter) -> tuple[datetime, datetime]:
    return (datetime.combine(quarter.starts_on, time(), UTC),
            datetime.combine(quarter.ends_on + timedelta(days=1), time(), UTC))


def organisation_trainees(organisation_id: int, starts_on: date, ends_on: date) -> Select[Any]:
    """The ids of trainees placed at one of the organisation's sites between the two days."""
    return (select(Placement.trainee_id).join(Site, Site.id == Placement.site_id)
            .where(Site.organisation_id == organisation_id, Placement.started_on <= ends_on,
                   or_(Placement.ended_on.is_(None), Placement.ended_on >= starts_on))
            .distinct())


def _placed_by_quarter(organisation_id: int, quarters: Sequence[Quarter]) -> list[list[int]]:
    """Each quarter's trainees placed at the organisation (one query for all of them)."""
    placements = db.session.execute(
        select(Placement.trainee_id, Placement.started_on, Placement.ended_on)
        .join(Site, Site.id == Placement.site_id)
        .where(Site.organisation_id == organisation_id,
               Placement.started_on <= quarters[-1].ends_on,
               or_(Placement.ended_on.is_(None),
                   Placement.ended_on >= quarters[0].starts_on))).all()
    return [sorted({trainee for trainee, started, ended in placements
                    if started <= quarter.ends_on and (ended is None
                                                       or ended >= quarter.starts_on)})
            for quarter in quarters]


@dataclass(frozen=True)
class _Source:
    """A table the figures count rows of: who the row belongs to, how to reach it, and the
    column that places it in a quarter (a date, or a UTC time)."""

    trainee: Any
    table: Any
    joins: tuple[tuple[Any, Any], ...] = ()

    def rows(self, selections: Sequence[_Selection], quarters: Sequence[Quarter],
             ours: Any) -> Select[Any]:
        """Per trainee who contributed to any of ``selections`` in any of ``quarters``: each
        one's events and amount per quarter, in one pass over the table."""
        columns: list[Any] = [self.trainee]
        for quarter in quarters:
            for selection in selections:
                where = selection.where(quarter)
                columns.append(func.sum(case((where, 1), else_=0)))
                columns.append(
                    func.sum(case((where, func.coalesce(selection.amount, 0)), else_=0))
                    if selection.amount is not None else literal(0))
        query = select(*columns).select_from(self.table)
        for target, on in self.joins:
            query = query.join(target, on)
        return query.where(self.trainee.in_(ours), or_(
            *(selection.where(quarter) for quarter in quarters for selection in selections))
        ).group_by(self.trainee)


def _in_days(column: Any) -> Callable[[Quarter], ColumnElement[bool]]:
    return lambda quarter: and_(column >= quarter.starts_on, column <= quarter.ends_on)


def _in_times(column: Any) -> Callable[[Quarter], ColumnElement[bool]]:
    def where(quarter: Quarter) -> ColumnElement[bool]:
        start, stop = _bounds(quarter)
        return and_(column >= start, column < stop)
    return where


@dataclass(frozen=True)
class _Selection:
    """One figure's trainees: the ``source`` rows in the quarter (``when``) matching ``also``;
    ``amount`` is summed into a second figure drawn from the same trainees (``amount_figure``:
    hours beside the activities or reports they were logged with)."""

    key: str
    theme: str
    label: str
    unit: str
    source: _Source
    when: Callable[[Quarter], ColumnElement[bool]]
    also: tuple[ColumnElement[bool], ...] = ()
    amount: Any = None
    amount_figure: tuple[str, str, str, str] | None = None

    def where(self, quarter: Quarter) -> ColumnElement[bool]:
        return and_(self.when(quarter), *self.also)


ACTIVITIES = _Source(Activity.trainee_id, Activity)
TIME_REPORTS = _Source(TimeReport.trainee_id, TimeReport)
FEEDBACK_REQUESTS = _Source(Activity.trainee_id, ActivityFeedbackRequest, (
    (Activity, Activity.id == ActivityFeedbackRequest.activity_id),))
CYCLES = _Source(FeedbackCycle.trainee_id, FeedbackCycle)
COACH_NOTES = _Source(FeedbackCycle.trainee_id, CoachNote, (
    (FeedbackCycle, FeedbackCycle.id == CoachNote.cycle_id),))
LETTERS = _Source(Letter.trainee_id, Letter)
_ACTIVITY_DAY = _in_days(Activity.started_on)
_REPORT_DAY = _in_days(TimeReport.occurred_on)
SELECTIONS = (
    _Selection("opportunities_taken_up", "opportunities", "Catalogue opportunities taken up",
               "activities", ACTIVITIES, _ACTIVITY_DAY, (Activity.opportunity_id.is_not(None),)),
    _Selection("leadership_activities", "opportunities", "Leadership activities logged",
               "activities", ACTIVITIES, _ACTIVITY_DAY, (Activity.kind == "doing",)),
    _Selection("education_logged", "opportunities", "Leadership education logged",
               "activities", ACTIVITIES, _ACTIVITY_DAY, (Activity.kind == "education",),
               amount=Activity.hours,
               amount_figure=("education_hours", "time", "Hours of leadership education logged",
                              "hours")),
    _Selection("time_used", "time", "Reports of protected development time used", "reports",
               TIME_REPORTS, _REPORT_DAY, (TimeReport.kind == "used",), amount=TimeReport.hours,
               amount_figure=("time_used_hours", "time", "Protected development time used",
                              "hours")),
    _Selection("time_unavailable", "time", "Times development time was unavailable",
               "reports", TIME_REPORTS, _REPORT_DAY, (TimeReport.kind == "unavailable",)),
    _Selection("written_feedback_requested", "feedback",
               "Written feedback requested on activities", "requests", FEEDBACK_REQUESTS,
               _in_times(ActivityFeedbackRequest.created_at)),
    _Selection("written_feedback_given", "feedback", "Written feedback given on activities",
               "requests", FEEDBACK_REQUESTS, _in_times(ActivityFeedbackRequest.given_at)),
    _Selection("cycles_completed", "feedback", "360 feedback cycles completed", "cycles",
               CYCLES, _in_times(FeedbackCycle.closed_at)),
    _Selection("coach_releases", "feedback", "360 reports released by a coach", "reports",
               CYCLES, _in_times(FeedbackCycle.released_at)),
    _Selection("coach_reviews", "feedback", "Coach review notes written", "notes",
               COACH_NOTES, _in_times(CoachNote.created_at)),
    _Selection("letters_issued", "recognition", "Letters of achievement issued", "letters",
               LETTERS, _in_times(Letter.issued_at), (Letter.revoked_at.is_(None),)),
    _Selection("portfolio_activities", "recognition", "Activities recorded in portfolios",
               "activities", ACTIVITIES, _ACTIVITY_DAY),
    _Selection("shadowing", "role_modelling", "Shadowing activities", "activities",
               ACTIVITIES, _ACTIVITY_DAY, (Activity.category == "shadowing",)),
    _Selection("mentoring", "role_modelling", "Mentoring activities", "activities",
               ACTIVITIES, _ACTIVITY_DAY, (Activity.category == "mentoring",)),
    *(_Selection(f"reason_{reason}", "time", REASON_LABELS[reason], "reports", TIME_REPORTS,
                 _REPORT_DAY, (TimeReport.kind == "unavailable", TimeReport.reason == reason))
      for reason in TIME_UNAVAILABLE_REASONS),
)


def _per_trainee(quarters: Sequence[Quarter], ours: Any
                 ) -> list[dict[str, dict[int, tuple[int, float]]]]:
    """Per quarter and selection key, each contributing trainee's (events, amount): one query
    per source for every quarter."""
    found: list[dict[str, dict[int, tuple[int, float]]]] = [
        {s.key: {} for s in SELECTIONS} for _ in quarters]
    sources: dict[int, list[_Selection]] = {}
    for selection in SELECTIONS:
        sources.setdefault(id(selection.source), []).append(selection)
    for selections in sources.values():
        rows = db.session.execute(selections[0].source.rows(selections, quarters, ours)).all()
        if not rows:
            continue
        columns = list(zip(*rows, strict=True))
        for index in range(len(quarters)):
            for number, selection in enumerate(selections):
                column = 1 + 2 * (index * len(selections) + number)
                found[index][selection.key] = {
                    trainee: (int(events), float(amount or 0))
                    for trainee, events, amount in zip(columns[0], columns[column],
                                                       columns[column + 1], strict=True)
                    if events}
    return found


def compute(organisation_id: int, quarter: Quarter) -> Figures:
    """The quarter's figures (``compute_quarters``)."""
    return compute_quarters(organisation_id, [quarter])[0]


def compute_quarters(organisation_id: int, quarters: Sequence[Quarter]) -> list[Figures]:
    """Each quarter's figures (oldest first), each shown only where
    ``breakdowns.admitted_cells`` admits its trainees: every figure is a choice over one row
    per trainee placed at the organisation in the quarter (choice 0 is all of them), so no
    figure, nor any difference between two, is about fewer than k trainees. Quarters count
    disjoint events, so each quarter is audited alone."""
    k = min_trainees()
    placed = _placed_by_quarter(organisation_id, quarters)
    ours = organisation_trainees(organisation_id, quarters[0].starts_on, quarters[-1].ends_on)
    per_quarter = _per_trainee(quarters, ours)
    return [_figures(organisation_id, quarter, trainee_ids, per_trainee, k)
            for quarter, trainee_ids, per_trainee in zip(quarters, placed, per_quarter,
                                                         strict=True)]


def _figures(organisation_id: int, quarter: Quarter, trainee_ids: list[int],
             per_trainee: dict[str, dict[int, tuple[int, float]]], k: int) -> Figures:
    _, stop = _bounds(quarter)
    offered = db.session.scalar(
        select(func.count()).select_from(LeadershipOpportunity)
        .outerjoin(Site, Site.id == LeadershipOpportunity.site_id)
        .where(LeadershipOpportunity.status == "open", LeadershipOpportunity.created_at < stop,
               or_(LeadershipOpportunity.site_id.is_(None),
                   Site.organisation_id == organisation_id))) or 0
    if len(trainee_ids) < k:
        return Figures(quarter, k, None if trainee_ids else 0, (), (), offered)
    members = set(trainee_ids)  # a trainee placed elsewhere that quarter counts for nothing
    per_trainee = {key: {t: v for t, v in rows.items() if t in members}
                   for key, rows in per_trainee.items()}
    columns: dict[str, Any] = {"trainee_id": trainee_ids, "in_0": True}
    for number, selection in enumerate(SELECTIONS, start=1):
        columns[f"in_{number}"] = [t in per_trainee[selection.key] for t in trainee_ids]
    admitted = admitted_cells(pd.DataFrame(columns), dimensions=[],
                              choices=len(SELECTIONS) + 1, min_trainees=k)
    figures: list[Figure] = []
    for number, selection in enumerate(SELECTIONS, start=1):
        rows = per_trainee[selection.key]
        shown = not rows or (number, ()) in admitted  # nobody: a zero tells nothing of anyone
        events = sum(events for events, _ in rows.values())
        figures.append(Figure(selection.key, selection.theme, selection.label,
                              events if shown else None, len(rows) if shown else None,
                              selection.unit))
        if selection.amount_figure is not None:
            key, theme, label, unit = selection.amount_figure
            total = round(sum(amount for _, amount in rows.values()), 2)
            figures.append(Figure(key, theme, label, total if shown else None,
                                  len(rows) if shown else None, unit))
    people = len(trainee_ids) if (0, ()) in admitted else None
    return Figures(quarter, k, people,
                   tuple(f for f in figures if not f.key.startswith("reason_")),
                   tuple(f for f in figures if f.key.startswith("reason_")), offered)


def trend(organisation_id: int, quarter: Quarter) -> list[Figures]:
    """The quarter's figures and up to three quarters' before it, oldest first."""
    return compute_quarters(organisation_id, quarter.trend())


def quarters_offered(today: date, count: int = 8) -> Iterable[Quarter]:
    """The current quarter and the ones before it, newest first (for a quarter select)."""
    quarter = Quarter.containing(today)
    for _ in range(count):
        yield quarter
        quarter = quarter.previous()
