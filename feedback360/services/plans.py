"""The development plan: goals the trainee and their coach agree once the report is released, and
suggestions drawn from the lowest-scoring domains and the open entries of the leadership
opportunities catalogue (``services/opportunities.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .. import audit
from ..extensions import db
from ..models import GOAL_STATUSES, DevelopmentGoal, FeedbackCycle, User
from ..scoring import CycleReport
from . import DomainError, Forbidden, opportunities
from .coaching import is_coach_of
from .cycles import today
from .instrument_cache import instrument_for

ACTION_MAX_LENGTH = 1000
SUPPORT_MAX_LENGTH = 1000
MAX_YEARS_AHEAD = 3
SUGGESTED_DOMAINS = 2
OPPORTUNITIES_PER_DOMAIN = 5
STATUS_LABELS = {"not_started": "Not started", "in_progress": "In progress",
                 "achieved": "Achieved", "dropped": "Dropped"}


class NotReleased(DomainError):
    """Goals are agreed only after the coach has released the report."""


# --- Goals ---------------------------------------------------------------------------------------

def may_plan(user: User, cycle: FeedbackCycle) -> bool:
    """The owning trainee or a coach assigned to them (whatever the cycle's state)."""
    if user.role == "trainee":
        return cycle.trainee_id == user.id
    return is_coach_of(user, cycle.trainee_id)


def _check_may_plan(user: User, cycle: FeedbackCycle) -> None:
    if not may_plan(user, cycle):
        raise Forbidden("Only the trainee and their coach can change this development plan")
    if cycle.status != "released":
        raise NotReleased("Goals can be agreed once the coach has released the report")


def _check_focus(cycle: FeedbackCycle, domain_key: str | None, element_key: str | None) -> None:
    domains = {domain.key: domain for domain in instrument_for(cycle).domains}
    domain = domains.get(domain_key or "")
    if domain is None:
        raise DomainError("Select the domain or element this goal develops", field="focus")
    if element_key and element_key not in {element.key for element in domain.elements}:
        raise DomainError("Select an element of that domain", field="focus")


def _check_action(action: str | None) -> str:
    action = (action or "").strip()
    if not action:
        raise DomainError("Enter what you will do", field="action")
    if len(action) > ACTION_MAX_LENGTH:
        raise DomainError(f"The action must be {ACTION_MAX_LENGTH:,} characters or fewer",
                          field="action")
    return action


def _check_support(support: str | None) -> str | None:
    support = (support or "").strip() or None
    if support and len(support) > SUPPORT_MAX_LENGTH:
        raise DomainError(f"The support or opportunity must be {SUPPORT_MAX_LENGTH:,} "
                          "characters or fewer", field="support")
    return support


def _check_due(due_on: date | None, *, unchanged_from: date | None = None) -> None:
    if due_on is None:
        raise DomainError("Enter the date you aim to do this by", field="due_on")
    if due_on == unchanged_from:  # an existing goal may be overdue; only a new date is checked
        return
    if due_on < today():
        raise DomainError("The due date must be today or in the future", field="due_on")
    if due_on > today() + timedelta(days=365 * MAX_YEARS_AHEAD):
        raise DomainError(f"The due date must be within {MAX_YEARS_AHEAD} years",
                          field="due_on")


def _check_status(status: str | None) -> str:
    if status not in GOAL_STATUSES:
        raise DomainError("Select the goal's status", field="status")
    return status


def goal_problems(cycle: FeedbackCycle, *, domain_key: str | None, element_key: str | None,
                  action: str | None, support: str | None, due_on: date | None,
                  status: str | None, unchanged_from: date | None = None,
                  check_due: bool = True) -> list[DomainError]:
    """Every rule a goal's fields break, one per field, so a form can show them all at once.

    ``check_due`` is False when the form could not read the date at all (it says so itself).
    """
    checks: list[Callable[[], object]] = [
        lambda: _check_focus(cycle, domain_key, element_key),
        lambda: _check_action(action), lambda: _check_support(support),
        lambda: _check_status(status)]
    if check_due:
        checks.insert(3, lambda: _check_due(due_on, unchanged_from=unchanged_from))
    problems = []
    for check in checks:
        try:
            check()
        except DomainError as problem:
            problems.append(problem)
    return problems


def _raise_first(problems: list[DomainError]) -> None:
    if problems:
        raise problems[0]


def add_goal(cycle: FeedbackCycle, author: User, domain_key: str | None,
             element_key: str | None, action: str | None, support: str | None,
             due_on: date | None, status: str | None = "not_started") -> DevelopmentGoal:
    _check_may_plan(author, cycle)
    _raise_first(goal_problems(cycle, domain_key=domain_key, element_key=element_key,
                               action=action, support=support, due_on=due_on, status=status))
    goal = DevelopmentGoal(cycle_id=cycle.id, author_id=author.id, domain_key=domain_key,
                           element_key=element_key or None, action=_check_action(action),
                           support=_check_support(support), due_on=due_on,
                           status=_check_status(status))
    db.session.add(goal)
    db.session.flush()
    audit.record(author, "goal.added", f"cycle:{cycle.id}", goal=goal.id,
                 fields=_audited(goal))
    return goal


def update_goal(goal: DevelopmentGoal, author: User, *, domain_key: str | None,
                element_key: str | None, action: str | None, support: str | None,
                due_on: date | None, status: str | None) -> DevelopmentGoal:
    """Change a goal; ``author`` is who changes it (the goal keeps who first wrote it)."""
    cycle = db.session.get(FeedbackCycle, goal.cycle_id)
    assert cycle is not None
    _check_may_plan(author, cycle)
    _raise_first(goal_problems(cycle, domain_key=domain_key, element_key=element_key,
                               action=action, support=support, due_on=due_on, status=status,
                               unchanged_from=goal.due_on))
    before, words = _audited(goal), (goal.action, goal.support)
    goal.domain_key, goal.element_key = domain_key or "", element_key or None
    goal.action, goal.support = _check_action(action), _check_support(support)
    goal.due_on, goal.status = due_on, _check_status(status)
    db.session.flush()
    after = _audited(goal)
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    for name, old in zip(("action", "support"), words, strict=True):
        if old != getattr(goal, name):  # reworded, even to the same length
            changes[f"{name}_length"] = [before[f"{name}_length"], after[f"{name}_length"]]
    if changes:
        audit.record(author, "goal.updated", f"cycle:{cycle.id}", goal=goal.id, changes=changes)
    return goal


def _audited(goal: DevelopmentGoal) -> dict[str, Any]:
    """A goal as its audit events show it. The action and support are the trainee's own words,
    shown to them and their coaches only: the trail (read by programme leads) keeps their
    length, so an edit to them is seen without the words being copied into it."""
    return {"domain_key": goal.domain_key, "element_key": goal.element_key,
            "due_on": goal.due_on.isoformat() if goal.due_on else None, "status": goal.status,
            "action_length": len(goal.action), "support_length": len(goal.support or "")}


def goals_for(cycle: FeedbackCycle) -> list[DevelopmentGoal]:
    """The plan, soonest due first."""
    return list(db.session.scalars(
        db.select(DevelopmentGoal).where(DevelopmentGoal.cycle_id == cycle.id)
        .order_by(DevelopmentGoal.due_on.is_(None), DevelopmentGoal.due_on,
                  DevelopmentGoal.id)))


# --- Suggestions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Opportunity:
    id: int  # of the catalogue's entry, to link to it
    title: str


@dataclass(frozen=True)
class Suggestion:
    domain_key: str
    domain_title: str
    mean: float
    source: str  # "all" (all raters' mean) or "self" (not enough colleagues to show theirs)
    rank: int  # 1 for the lowest-scoring domain
    opportunities: tuple[Opportunity, ...]

    @property
    def headline(self) -> str:
        which = "lowest" if self.rank == 1 else "next lowest"
        if self.source == "self":
            return (f"{self.domain_title} is the domain you rated yourself {which} "
                    f"({self.mean:.1f}).")
        return f"{self.domain_title} is your {which}-rated domain ({self.mean:.1f})."

    @property
    def text(self) -> str:
        """One sentence or two, e.g. "Managing services is your lowest-rated domain (3.1).
        Opportunities: sit on an interview panel (...); take on the rota (...)."."""
        if not self.opportunities:
            return self.headline
        titles = "; ".join(_lower(o.title) for o in self.opportunities)
        return f"{self.headline} Opportunities: {titles}."


def _lower(title: str) -> str:
    """Sentence-case a title for use mid-sentence ("Sit on..." → "sit on..."; "QI..." stays)."""
    if len(title) > 1 and title[1].isupper():
        return title
    return title[:1].lower() + title[1:]


def opportunities_for(domain_key: str) -> tuple[Opportunity, ...]:
    """Open catalogue entries developing this domain, those with most of its elements first."""
    return tuple(Opportunity(o.id, o.title)
                 for o in opportunities.open_for_domain(domain_key, OPPORTUNITIES_PER_DOMAIN))


def _domain_means(report: CycleReport, column: str) -> list[tuple[str, str, float]]:
    rows = []
    for row in report.table("domain"):
        cell = row.cells.get(column)
        if cell is not None and cell.shown and cell.mean is not None:
            rows.append((row.key, row.title, cell.mean))
    return rows


def suggestions(cycle: FeedbackCycle, report: CycleReport) -> list[Suggestion]:
    """The lowest-scoring domains by all raters' mean (shown cells only), each with the open
    catalogue entries developing it; by the self-assessment when colleagues' scores cannot be
    shown."""
    source, means = "all", _domain_means(report, "all")
    if len(means) < SUGGESTED_DOMAINS:
        source, means = "self", _domain_means(report, "self")
    order = {domain.key: i for i, domain in enumerate(instrument_for(cycle).domains)}
    lowest = sorted(means, key=lambda m: (m[2], order.get(m[0], len(order))))
    return [Suggestion(key, title, mean, source, rank, opportunities_for(key))
            for rank, (key, title, mean) in enumerate(lowest[:SUGGESTED_DOMAINS], start=1)]
