"""The trainee's leadership portfolio at a glance (issue 13, point 6): what they have done and
learned in each CLCF domain, beside how colleagues rated that domain in their latest released
360, and where the two point the same way, open catalogue opportunities to do something about it.

**The gap rule**, in words the page repeats. A domain is *rated low* when, in the trainee's latest
released 360, colleagues' mean for it is shown and is either below the midpoint of the scale
(3 on a 1 to 5 scale) or the lowest of the trainee's domains (ties count). The trainee has done
*little* in it when fewer than ``LITTLE_ACTIVITIES`` leadership activities they did (kind
``doing``, whenever done) exercised one of its elements: education complements doing, it does not
replace it (the BMJ Leader study). A domain both rated low and with little done is a *gap*.

Only what the released report itself shows is read: its stored domain rows (``CycleScore``), and
colleagues' mean only when the summary had enough responses and the cell was not suppressed. A
closed cycle not yet released counts for nothing, for the trainee and the coach alike.

Every figure is a bounded, indexed aggregate for one trainee (a handful of queries whatever the
number of activities): nothing here loads activities one by one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from ..extensions import db
from ..models import (
    Activity,
    ActivityElement,
    ActivityFeedbackRequest,
    CycleScore,
    CycleSummary,
    FeedbackCycle,
    LeadershipOpportunity,
    Letter,
    OpportunityElement,
    TimeReport,
    User,
)
from .clcf_framework import domains as framework_domains
from .instrument_cache import instrument_for

# Fewer "doing" activities than this in a domain is "little" (see the module docstring).
LITTLE_ACTIVITIES = 2
# Open opportunities offered for each gap domain.
OPPORTUNITIES_PER_GAP = 3
RECENT_ACTIVITIES = 5
# Written feedback asked for and not yet given or declined.
WAITING_STATUSES = ("pending", "sent", "opened")


@dataclass(frozen=True)
class DomainSummary:
    key: str
    title: str
    doing: int = 0
    education: int = 0
    hours: float = 0.0
    feedback_given: int = 0
    others_mean: float | None = None
    self_score: float | None = None
    rated_low: bool = False
    opportunities: tuple[LeadershipOpportunity, ...] = ()

    @property
    def little_done(self) -> bool:
        return self.doing < LITTLE_ACTIVITIES

    @property
    def gap(self) -> bool:
        return self.rated_low and self.little_done


@dataclass(frozen=True)
class Totals:
    doing: int = 0
    education: int = 0
    doing_hours: float = 0.0
    education_hours: float = 0.0
    feedback_given: int = 0
    feedback_waiting: int = 0
    time_used_hours: float = 0.0
    time_unavailable: int = 0
    letters: int = 0

    @property
    def activities(self) -> int:
        return self.doing + self.education


@dataclass(frozen=True)
class PortfolioSummary:
    trainee: User
    domains: list[DomainSummary]
    totals: Totals
    recent: list[Any] = field(default_factory=list)  # rows: id, title, kind, started_on
    # The latest released cycle, and whether its report shows colleagues' scores at all.
    released_cycle: FeedbackCycle | None = None
    scores_shown: bool = False
    scale_min: int = 1
    scale_max: int = 5

    @property
    def midpoint(self) -> float:
        return (self.scale_min + self.scale_max) / 2

    @property
    def lowest_mean(self) -> float | None:
        means = [d.others_mean for d in self.domains if d.others_mean is not None]
        return min(means) if means else None

    @property
    def gaps(self) -> list[DomainSummary]:
        return [domain for domain in self.domains if domain.gap]

    @property
    def empty(self) -> bool:
        return (self.totals.activities == 0 and self.released_cycle is None
                and self.totals.time_used_hours == 0 and self.totals.time_unavailable == 0)


def latest_released_cycle(trainee_id: int) -> FeedbackCycle | None:
    return db.session.scalars(
        db.select(FeedbackCycle)
        .where(FeedbackCycle.trainee_id == trainee_id, FeedbackCycle.status == "released")
        .order_by(FeedbackCycle.released_at.desc(), FeedbackCycle.id.desc()).limit(1)).first()


def _domain_scores(cycle: FeedbackCycle) -> tuple[dict[str, tuple[float | None, float | None]],
                                                  bool]:
    """Each domain's (colleagues' mean, self) as the released report shows them, and whether it
    shows colleagues' scores at all (enough responses)."""
    def read() -> list[Any]:
        return list(db.session.execute(
            db.select(CycleSummary.enough_responses, CycleScore.key, CycleScore.others_mean,
                      CycleScore.self_score)
            .outerjoin(CycleScore, db.and_(CycleScore.cycle_id == CycleSummary.cycle_id,
                                           CycleScore.level == "domain"))
            .where(CycleSummary.cycle_id == cycle.id)))

    rows = read()
    if not rows:  # a cycle closed before summaries were stored: store it now
        from .summaries import store_summary

        store_summary(cycle)
        rows = read()
    enough = bool(rows and rows[0][0])
    return ({key: (others if enough else None, own) for _enough, key, others, own in rows
             if key is not None}, enough)


def _low_domains(means: dict[str, float], midpoint: float) -> set[str]:
    if not means:
        return set()
    lowest = min(means.values())
    return {key for key, mean in means.items() if mean < midpoint or mean == lowest}


def _activity_domains(trainee_id: int):  # type: ignore[no-untyped-def]
    """(activity id, domain key) once per domain an activity exercised, for one trainee."""
    return (db.select(ActivityElement.activity_id, ActivityElement.domain_key).distinct()
            .join(Activity, Activity.id == ActivityElement.activity_id)
            .where(Activity.trainee_id == trainee_id).subquery())


def _requests_of_activity(statuses: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """Per activity row: how many of its written feedback requests have one of ``statuses``
    (a correlated count on the indexed ``activity_id``, so no join multiplies the rows)."""
    return (db.select(db.func.count()).select_from(ActivityFeedbackRequest)
            .where(ActivityFeedbackRequest.activity_id == Activity.id,
                   ActivityFeedbackRequest.status.in_(statuses))
            .correlate(Activity).scalar_subquery())


def _by_domain(trainee_id: int) -> dict[str, dict[str, tuple[int, float, int]]]:
    """{domain: {kind: (activities, hours, written feedback given)}} in one query."""
    pairs = _activity_domains(trainee_id)
    counted: dict[str, dict[str, tuple[int, float, int]]] = defaultdict(dict)
    for domain_key, kind, count, hours, given in db.session.execute(
            db.select(pairs.c.domain_key, Activity.kind, db.func.count(),
                      db.func.coalesce(db.func.sum(Activity.hours), 0),
                      db.func.coalesce(db.func.sum(_requests_of_activity(("given",))), 0))
            .join(Activity, Activity.id == pairs.c.activity_id)
            .group_by(pairs.c.domain_key, Activity.kind)):
        counted[domain_key][kind] = (count, float(hours), int(given))
    return counted


def _totals(trainee_id: int) -> Totals:
    kinds = {kind: (count, float(hours), int(given), int(waiting))
             for kind, count, hours, given, waiting in db.session.execute(
                 db.select(Activity.kind, db.func.count(),
                           db.func.coalesce(db.func.sum(Activity.hours), 0),
                           db.func.coalesce(db.func.sum(_requests_of_activity(("given",))), 0),
                           db.func.coalesce(db.func.sum(_requests_of_activity(WAITING_STATUSES)),
                                            0))
                 .where(Activity.trainee_id == trainee_id).group_by(Activity.kind))}
    time = {kind: (count, float(hours)) for kind, count, hours in db.session.execute(
        db.select(TimeReport.kind, db.func.count(),
                  db.func.coalesce(db.func.sum(TimeReport.hours), 0))
        .where(TimeReport.trainee_id == trainee_id).group_by(TimeReport.kind))}
    letters = db.session.scalar(db.select(db.func.count()).select_from(Letter).where(
        Letter.trainee_id == trainee_id, Letter.revoked_at.is_(None))) or 0
    none = (0, 0.0, 0, 0)
    doing, education = kinds.get("doing", none), kinds.get("education", none)
    return Totals(
        doing=doing[0], education=education[0], doing_hours=doing[1],
        education_hours=education[1], feedback_given=doing[2] + education[2],
        feedback_waiting=doing[3] + education[3],
        time_used_hours=time.get("used", (0, 0.0))[1],
        time_unavailable=time.get("unavailable", (0, 0.0))[0], letters=letters)


def open_opportunities(domain_key: str,
                       limit: int = OPPORTUNITIES_PER_GAP) -> list[LeadershipOpportunity]:
    """Open catalogue entries that develop an element of ``domain_key``, by title."""
    return list(db.session.scalars(
        db.select(LeadershipOpportunity)
        .where(LeadershipOpportunity.status == "open",
               db.select(OpportunityElement.opportunity_id).where(
                   OpportunityElement.opportunity_id == LeadershipOpportunity.id,
                   OpportunityElement.domain_key == domain_key).exists())
        .order_by(LeadershipOpportunity.title, LeadershipOpportunity.id).limit(limit)))


def recent_activities(trainee_id: int, limit: int = RECENT_ACTIVITIES) -> list[Any]:
    """The latest activities' title, kind and start (rows, not whole activities)."""
    return list(db.session.execute(
        db.select(Activity.id, Activity.title, Activity.kind, Activity.started_on)
        .where(Activity.trainee_id == trainee_id)
        .order_by(Activity.started_on.desc(), Activity.id.desc()).limit(limit)))


def summary_for(trainee: User, *, with_recent: bool = True) -> PortfolioSummary:
    """The portfolio of ``trainee`` (the caller has checked who may see it); ``with_recent``
    also lists their latest activities (the home card does without)."""
    cycle = latest_released_cycle(trainee.id)
    scores: dict[str, tuple[float | None, float | None]] = {}
    shown, scale_min, scale_max = False, 1, 5
    if cycle is not None:
        scores, shown = _domain_scores(cycle)
        scale = instrument_for(cycle).scale
        scale_min, scale_max = scale.min, scale.max
    framework = framework_domains()
    means: dict[str, float] = {}
    for domain in framework:
        others = scores.get(domain.key, (None, None))[0]
        if others is not None:
            means[domain.key] = others
    low = _low_domains(means, (scale_min + scale_max) / 2)
    counted = _by_domain(trainee.id)
    rows = []
    for domain in framework:
        kinds = counted.get(domain.key, {})
        doing, learning = kinds.get("doing", (0, 0.0, 0)), kinds.get("education", (0, 0.0, 0))
        others, own = scores.get(domain.key, (None, None))
        row = DomainSummary(key=domain.key, title=domain.title, doing=doing[0],
                            education=learning[0], hours=doing[1] + learning[1],
                            feedback_given=doing[2] + learning[2], others_mean=others,
                            self_score=own, rated_low=domain.key in low)
        if row.gap:
            row = replace(row, opportunities=tuple(open_opportunities(domain.key)))
        rows.append(row)
    return PortfolioSummary(trainee=trainee, domains=rows, totals=_totals(trainee.id),
                            recent=recent_activities(trainee.id) if with_recent else [],
                            released_cycle=cycle,
                            scores_shown=shown, scale_min=scale_min, scale_max=scale_max)
