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

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from flask import current_app
from sqlalchemy import ColumnElement, Select, func, or_, select

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
from ..scoring.breakdowns import admitted_cells
from . import DomainError

TREND_QUARTERS = 4  # the quarter itself and up to three before it
REASON_LABELS = {"rota": "The rota", "service_pressure": "Service pressure",
                 "leave_refused": "Leave refused", "other": "Another reason"}


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    def __post_init__(self) -> None:
        if not (2000 <= self.year <= 2999 and 1 <= self.number <= 4):
            raise DomainError("Choose a quarter between 2000 and 2999", field="quarter")

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str | None) -> Quarter:
        """``2026-Q3`` (as the quarter select sends it)."""
        year, _, number = (text or "").strip().upper().partition("-Q")
        if not (year.isdigit() and number.isdigit() and len(year) == 4 and len(number) == 1):
            raise DomainError("Choose a quarter from the list", field="quarter")
        return cls(int(year), int(number))

    @property
    def starts_on(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def ends_on(self) -> date:
        month = 3 * self.number
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def previous(self) -> Quarter:
        return Quarter(self.year, self.number - 1) if self.number > 1 else Quarter(
            self.year - 1, 4)

    def trend(self, count: int = TREND_QUARTERS) -> list[Quarter]:
        """This quarter and the ones before it, oldest first (none before 2000)."""
        quarters = [self]
        while len(quarters) < count and quarters[-1] > Quarter(2000, 1):
            quarters.append(quarters[-1].previous())
        return quarters[::-1]

    @property
    def value(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def label(self) -> str:
        return f"Q{self.number} {self.year} ({self.starts_on:%B} to {self.ends_on:%B})"


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


def organisation_trainees(organisation_id: int, quarter: Quarter) -> Select[Any]:
    """The ids of trainees placed at one of the organisation's sites during the quarter."""
    return (select(Placement.trainee_id).join(Site, Site.id == Placement.site_id)
            .where(Site.organisation_id == organisation_id,
                   Placement.started_on <= quarter.ends_on,
                   or_(Placement.ended_on.is_(None), Placement.ended_on >= quarter.starts_on))
            .distinct())


@dataclass(frozen=True)
class _Selection:
    """One figure's trainees: ``rows`` gives (trainee id, events, summed amount) per trainee
    who contributed in the quarter; ``amount`` names a second figure drawn from the same
    trainees (hours beside the activities they were logged with)."""

    key: str
    theme: str
    label: str
    unit: str
    rows: Callable[[Quarter, Any], Select[Any]]
    amount: tuple[str, str, str, str] | None = None


def _grouped(trainee: Any, amount: Any, *where: ColumnElement[bool],
             joins: Sequence[tuple[Any, Any]] = (), frm: Any) -> Select[Any]:
    query = select(trainee, func.count(),
                   func.coalesce(func.sum(amount), 0) if amount is not None else func.count())
    query = query.select_from(frm)
    for target, on in joins:
        query = query.join(target, on)
    return query.where(*where).group_by(trainee)


def _activities(*where: ColumnElement[bool], hours: bool = False
                ) -> Callable[[Quarter, Any], Select[Any]]:
    def rows(quarter: Quarter, ours: Any) -> Select[Any]:
        return _grouped(Activity.trainee_id, Activity.hours if hours else None,
                        Activity.trainee_id.in_(ours), Activity.started_on >= quarter.starts_on,
                        Activity.started_on <= quarter.ends_on, *where, frm=Activity)
    return rows


def _time_reports(kind: str, *where: ColumnElement[bool]
                  ) -> Callable[[Quarter, Any], Select[Any]]:
    def rows(quarter: Quarter, ours: Any) -> Select[Any]:
        return _grouped(TimeReport.trainee_id, TimeReport.hours, TimeReport.trainee_id.in_(ours),
                        TimeReport.kind == kind, TimeReport.occurred_on >= quarter.starts_on,
                        TimeReport.occurred_on <= quarter.ends_on, *where, frm=TimeReport)
    return rows


def _stamped(trainee: Any, stamp: Any, frm: Any, *where: ColumnElement[bool],
             joins: Sequence[tuple[Any, Any]] = ()) -> Callable[[Quarter, Any], Select[Any]]:
    def rows(quarter: Quarter, ours: Any) -> Select[Any]:
        start, stop = _bounds(quarter)
        return _grouped(trainee, None, trainee.in_(ours), stamp >= start, stamp < stop, *where,
                        frm=frm, joins=joins)
    return rows


_ON_ACTIVITY = [(Activity, Activity.id == ActivityFeedbackRequest.activity_id)]
_ON_CYCLE = [(FeedbackCycle, FeedbackCycle.id == CoachNote.cycle_id)]
SELECTIONS = (
    _Selection("opportunities_taken_up", "opportunities", "Catalogue opportunities taken up",
               "activities", _activities(Activity.opportunity_id.is_not(None))),
    _Selection("leadership_activities", "opportunities", "Leadership activities logged",
               "activities", _activities(Activity.kind == "doing")),
    _Selection("education_logged", "opportunities", "Leadership education logged",
               "activities", _activities(Activity.kind == "education", hours=True),
               amount=("education_hours", "time", "Hours of leadership education logged",
                       "hours")),
    _Selection("time_used", "time", "Reports of protected development time used", "reports",
               _time_reports("used"),
               amount=("time_used_hours", "time", "Protected development time used", "hours")),
    _Selection("time_unavailable", "time", "Times development time was unavailable",
               "reports", _time_reports("unavailable")),
    _Selection("written_feedback_requested", "feedback",
               "Written feedback requested on activities", "requests",
               _stamped(Activity.trainee_id, ActivityFeedbackRequest.created_at,
                        ActivityFeedbackRequest, joins=_ON_ACTIVITY)),
    _Selection("written_feedback_given", "feedback", "Written feedback given on activities",
               "requests", _stamped(Activity.trainee_id, ActivityFeedbackRequest.given_at,
                                    ActivityFeedbackRequest, joins=_ON_ACTIVITY)),
    _Selection("cycles_completed", "feedback", "360 feedback cycles completed", "cycles",
               _stamped(FeedbackCycle.trainee_id, FeedbackCycle.closed_at, FeedbackCycle)),
    _Selection("coach_releases", "feedback", "360 reports released by a coach", "reports",
               _stamped(FeedbackCycle.trainee_id, FeedbackCycle.released_at, FeedbackCycle)),
    _Selection("coach_reviews", "feedback", "Coach review notes written", "notes",
               _stamped(FeedbackCycle.trainee_id, CoachNote.created_at, CoachNote,
                        joins=_ON_CYCLE)),
    _Selection("letters_issued", "recognition", "Letters of achievement issued", "letters",
               _stamped(Letter.trainee_id, Letter.issued_at, Letter,
                        Letter.revoked_at.is_(None))),
    _Selection("portfolio_activities", "recognition", "Activities recorded in portfolios",
               "activities", _activities()),
    _Selection("shadowing", "role_modelling", "Shadowing activities", "activities",
               _activities(Activity.category == "shadowing")),
    _Selection("mentoring", "role_modelling", "Mentoring activities", "activities",
               _activities(Activity.category == "mentoring")),
    *(_Selection(f"reason_{reason}", "time", REASON_LABELS[reason], "reports",
                 _time_reports("unavailable", TimeReport.reason == reason))
      for reason in TIME_UNAVAILABLE_REASONS),
)


def compute(organisation_id: int, quarter: Quarter) -> Figures:
    """The quarter's figures, each shown only where ``breakdowns.admitted_cells`` admits its
    trainees: every figure is a choice over one row per trainee placed at the organisation in
    the quarter (choice 0 is all of them), so no figure, nor any difference between two, is
    about fewer than k trainees."""
    k = min_trainees()
    ours = organisation_trainees(organisation_id, quarter)
    trainee_ids = list(db.session.scalars(ours))
    _, stop = _bounds(quarter)
    offered = db.session.scalar(
        select(func.count()).select_from(LeadershipOpportunity)
        .outerjoin(Site, Site.id == LeadershipOpportunity.site_id)
        .where(LeadershipOpportunity.status == "open", LeadershipOpportunity.created_at < stop,
               or_(LeadershipOpportunity.site_id.is_(None),
                   Site.organisation_id == organisation_id))) or 0
    if len(trainee_ids) < k:
        return Figures(quarter, k, None if trainee_ids else 0, (), (), offered)
    per_trainee = {selection.key: {row[0]: (int(row[1]), float(row[2] or 0))
                                   for row in db.session.execute(selection.rows(quarter, ours))}
                   for selection in SELECTIONS}
    frame = pd.DataFrame({"trainee_id": trainee_ids, "in_0": True})
    for number, selection in enumerate(SELECTIONS, start=1):
        frame[f"in_{number}"] = frame["trainee_id"].isin(per_trainee[selection.key].keys())
    admitted = admitted_cells(frame, dimensions=[], choices=len(SELECTIONS) + 1,
                              min_trainees=k)
    figures: list[Figure] = []
    for number, selection in enumerate(SELECTIONS, start=1):
        rows = per_trainee[selection.key]
        shown = not rows or (number, ()) in admitted  # nobody: a zero tells nothing of anyone
        events = sum(events for events, _ in rows.values())
        figures.append(Figure(selection.key, selection.theme, selection.label,
                              events if shown else None, len(rows) if shown else None,
                              selection.unit))
        if selection.amount is not None:
            key, theme, label, unit = selection.amount
            total = round(sum(amount for _, amount in rows.values()), 2)
            figures.append(Figure(key, theme, label, total if shown else None,
                                  len(rows) if shown else None, unit))
    people = len(trainee_ids) if (0, ()) in admitted else None
    return Figures(quarter, k, people,
                   tuple(f for f in figures if not f.key.startswith("reason_")),
                   tuple(f for f in figures if f.key.startswith("reason_")), offered)


def trend(organisation_id: int, quarter: Quarter) -> list[Figures]:
    """The quarter's figures and up to three quarters' before it, oldest first."""
    return [compute(organisation_id, q) for q in quarter.trend()]


def quarters_offered(today: date, count: int = 8) -> Iterable[Quarter]:
    """The current quarter and the ones before it, newest first (for a quarter select)."""
    quarter = Quarter.containing(today)
    for _ in range(count):
        yield quarter
        quarter = quarter.previous()
