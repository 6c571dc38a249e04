"""What the service already knows about an organisation's trainees, per commitment theme and
quarter: the figures beside the Leadership Commitment tracker and in the board report.

The organisation's trainees for a quarter are those with a placement at one of its sites that
overlaps the quarter. Every figure counts something trainees did, so each is shown only when at
least ``COHORT_MIN_TRAINEES`` different trainees are behind it (zero is shown: it says nothing
about anyone); otherwise it is suppressed, and a breakdown (time-unavailable reasons) also
suppresses a second cell whenever one alone would be hidden, so the total less the shown cells
cannot reveal it.

Periods are whole calendar quarters and nothing else: quarters never overlap, so two periods'
figures count disjoint events and differencing them isolates nobody (a free choice of dates
would: 1 January to 31 March less 1 January to 30 March is one day's events, perhaps one
person's).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, func, or_, select

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


def _counted(trainee: Any, *where: ColumnElement[bool], joins: Sequence[Any] = (),
             frm: Any, amount: Any = None) -> tuple[int, int, float]:
    """(events, distinct trainees, summed ``amount``) of ``frm`` rows matching ``where``."""
    query = select(func.count(), func.count(trainee.distinct()),
                   func.coalesce(func.sum(amount), 0) if amount is not None else func.count())
    query = query.select_from(frm)
    for target, on in joins:
        query = query.join(target, on)
    events, people, total = db.session.execute(query.where(*where)).one()
    return int(events), int(people), float(total or 0)


def _figure(key: str, theme: str, label: str, value: float, trainees: int, k: int,
            unit: str = "") -> Figure:
    if 0 < trainees < k:
        return Figure(key, theme, label, None, None, unit)
    return Figure(key, theme, label, value, trainees, unit)


def compute(organisation_id: int, quarter: Quarter) -> Figures:
    k = min_trainees()
    start, stop = _bounds(quarter)
    first, last = quarter.starts_on, quarter.ends_on
    cohort = organisation_trainees(organisation_id, quarter).subquery()
    ours = select(cohort.c.trainee_id)
    people = db.session.scalar(select(func.count()).select_from(cohort)) or 0
    offered = db.session.scalar(
        select(func.count()).select_from(LeadershipOpportunity)
        .outerjoin(Site, Site.id == LeadershipOpportunity.site_id)
        .where(LeadershipOpportunity.status == "open", LeadershipOpportunity.created_at < stop,
               or_(LeadershipOpportunity.site_id.is_(None),
                   Site.organisation_id == organisation_id))) or 0
    if people < k:
        return Figures(quarter, k, None if people else 0, (), (), offered)

    in_period = and_(Activity.trainee_id.in_(ours), Activity.started_on >= first,
                     Activity.started_on <= last)
    figures: list[Figure] = []

    def activities(key: str, theme: str, label: str, *where: ColumnElement[bool]) -> None:
        events, trainees, _ = _counted(Activity.trainee_id, in_period, *where, frm=Activity)
        figures.append(_figure(key, theme, label, events, trainees, k, "activities"))

    activities("opportunities_taken_up", "opportunities",
               "Catalogue opportunities taken up", Activity.opportunity_id.is_not(None))
    activities("leadership_activities", "opportunities", "Leadership activities logged",
               Activity.kind == "doing")
    events, trainees, hours = _counted(Activity.trainee_id, in_period, Activity.kind == "education",
                                       frm=Activity, amount=Activity.hours)
    figures.append(_figure("education_logged", "opportunities", "Leadership education logged",
                           events, trainees, k, "activities"))
    figures.append(_figure("education_hours", "time", "Hours of leadership education logged",
                           hours, trainees, k, "hours"))
    events, trainees, hours = _counted(
        TimeReport.trainee_id, TimeReport.trainee_id.in_(ours), TimeReport.kind == "used",
        TimeReport.occurred_on >= first, TimeReport.occurred_on <= last,
        frm=TimeReport, amount=TimeReport.hours)
    figures.append(_figure("time_used_hours", "time", "Protected development time used",
                           hours, trainees, k, "hours"))
    unavailable = [TimeReport.trainee_id.in_(ours), TimeReport.kind == "unavailable",
                   TimeReport.occurred_on >= first, TimeReport.occurred_on <= last]
    events, trainees, _ = _counted(TimeReport.trainee_id, *unavailable, frm=TimeReport)
    figures.append(_figure("time_unavailable", "time", "Times development time was unavailable",
                           events, trainees, k, "reports"))
    reasons = _reasons(unavailable, k, shown=not figures[-1].suppressed)

    request_join = [(Activity, Activity.id == ActivityFeedbackRequest.activity_id)]
    for key, label, stamp in (
            ("written_feedback_requested", "Written feedback requested on activities",
             ActivityFeedbackRequest.created_at),
            ("written_feedback_given", "Written feedback given on activities",
             ActivityFeedbackRequest.given_at)):
        events, trainees, _ = _counted(
            Activity.trainee_id, Activity.trainee_id.in_(ours), stamp >= start, stamp < stop,
            frm=ActivityFeedbackRequest, joins=request_join)
        figures.append(_figure(key, "feedback", label, events, trainees, k, "requests"))
    events, trainees, _ = _counted(
        FeedbackCycle.trainee_id, FeedbackCycle.trainee_id.in_(ours),
        FeedbackCycle.closed_at >= start, FeedbackCycle.closed_at < stop, frm=FeedbackCycle)
    figures.append(_figure("cycles_completed", "feedback", "360 feedback cycles completed",
                           events, trainees, k, "cycles"))
    events, trainees, _ = _counted(
        FeedbackCycle.trainee_id, FeedbackCycle.trainee_id.in_(ours),
        FeedbackCycle.released_at >= start, FeedbackCycle.released_at < stop, frm=FeedbackCycle)
    figures.append(_figure("coach_releases", "feedback", "360 reports released by a coach",
                           events, trainees, k, "reports"))
    events, trainees, _ = _counted(
        FeedbackCycle.trainee_id, FeedbackCycle.trainee_id.in_(ours),
        CoachNote.created_at >= start, CoachNote.created_at < stop, frm=CoachNote,
        joins=[(FeedbackCycle, FeedbackCycle.id == CoachNote.cycle_id)])
    figures.append(_figure("coach_reviews", "feedback", "Coach review notes written",
                           events, trainees, k, "notes"))
    events, trainees, _ = _counted(
        Letter.trainee_id, Letter.trainee_id.in_(ours), Letter.issued_at >= start,
        Letter.issued_at < stop, Letter.revoked_at.is_(None), frm=Letter)
    figures.append(_figure("letters_issued", "recognition", "Letters of achievement issued",
                           events, trainees, k, "letters"))
    activities("portfolio_activities", "recognition", "Activities recorded in portfolios")
    activities("shadowing", "role_modelling", "Shadowing activities",
               Activity.category == "shadowing")
    activities("mentoring", "role_modelling", "Mentoring activities",
               Activity.category == "mentoring")
    return Figures(quarter, k, people, tuple(figures), reasons, offered)


def _reasons(where: list[ColumnElement[bool]], k: int, *, shown: bool) -> tuple[Figure, ...]:
    rows = {reason: (int(events), int(people)) for reason, events, people in db.session.execute(
        select(TimeReport.reason, func.count(), func.count(TimeReport.trainee_id.distinct()))
        .where(*where).group_by(TimeReport.reason))}
    counts = {reason: rows.get(reason, (0, 0)) for reason in TIME_UNAVAILABLE_REASONS}
    hidden = suppress_breakdown({reason: people for reason, (_, people) in counts.items()}, k) \
        if shown else set(counts)
    return tuple(Figure(f"reason_{reason}", "time", REASON_LABELS[reason],
                        None if reason in hidden else events,
                        None if reason in hidden else people, "reports")
                 for reason, (events, people) in counts.items())


def suppress_breakdown(trainees: dict[str, int], k: int) -> set[str]:
    """The cells of a breakdown to hide: each with 1 to k-1 trainees, and, when that is one
    cell alone, the smallest other non-empty cell too, so the total less the shown cells cannot
    give it back. (A breakdown whose total is itself hidden is hidden whole by the caller.)"""
    hidden = {key for key, people in trainees.items() if 0 < people < k}
    if len(hidden) == 1:
        others = sorted((people, key) for key, people in trainees.items()
                        if people and key not in hidden)
        if others:
            hidden.add(others[0][1])
    return hidden


def trend(organisation_id: int, quarter: Quarter) -> list[Figures]:
    """The quarter's figures and up to three quarters' before it, oldest first."""
    return [compute(organisation_id, q) for q in quarter.trend()]


def quarters_offered(today: date, count: int = 8) -> Iterable[Quarter]:
    """The current quarter and the ones before it, newest first (for a quarter select)."""
    quarter = Quarter.containing(today)
    for _ in range(count):
        yield quarter
        quarter = quarter.previous()
