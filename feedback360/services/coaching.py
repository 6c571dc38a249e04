"""Coach assignments: which coach reviews which trainee's reports (DESIGN.md, "People").

Only accounts with the coach role coach, only trainees are coached, and a pair is assigned once
(the table's unique constraint backs the check up).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement
from sqlalchemy.orm import aliased

from .. import audit
from ..extensions import db
from ..models import CoachAssignment, User
from . import DomainError


@dataclass
class BulkAssignment:
    assigned: list[User] = field(default_factory=list)
    already_assigned: list[User] = field(default_factory=list)


def coaches() -> list[User]:
    """Coaches who can be given trainees (deactivated accounts are not offered)."""
    return list(db.session.scalars(db.select(User).where(User.role == "coach", User.active)
                                   .order_by(User.name, User.email)))


def assignments_of(trainee: User) -> list[CoachAssignment]:
    return list(db.session.scalars(
        db.select(CoachAssignment).join(CoachAssignment.coach)
        .where(CoachAssignment.trainee_id == trainee.id).order_by(User.name)))


def coaches_by_trainee(trainee_ids: Iterable[int]) -> dict[int, list[User]]:
    """Each trainee's coaches in one query, for listing many trainees at once."""
    ids = list(trainee_ids)
    result: dict[int, list[User]] = defaultdict(list)
    if not ids:
        return result
    rows = db.session.execute(
        db.select(CoachAssignment.trainee_id, User).join(CoachAssignment.coach)
        .where(CoachAssignment.trainee_id.in_(ids)).order_by(User.name)).all()
    for trainee_id, coach in rows:
        result[trainee_id].append(coach)
    return result


def has_active_coach() -> ColumnElement[bool]:
    """A condition on ``User``: a trainee with an active coach, who could release their report.
    Without one nobody could (a deactivated coach cannot sign in)."""
    coach = aliased(User)
    return db.select(CoachAssignment.id).join(coach, coach.id == CoachAssignment.coach_id).where(
        CoachAssignment.trainee_id == User.id, coach.active, coach.role == "coach").exists()


def _check_pair(coach: User, trainee: User) -> None:
    if coach.role != "coach" or not coach.active:
        raise DomainError(f"{coach.name} is not a coach, so cannot be assigned trainees",
                          field="coach_id")
    if trainee.role != "trainee":
        raise DomainError(f"{trainee.name} is not a trainee, so cannot be given a coach")


def is_coach_of(coach: User, trainee_id: int) -> bool:
    """Whether ``coach`` is a coach assigned to this trainee (never true for another role)."""
    if coach.role != "coach":
        return False
    return db.session.scalar(db.select(CoachAssignment.id).where(
        CoachAssignment.coach_id == coach.id,
        CoachAssignment.trainee_id == trainee_id).limit(1)) is not None


def assign(coach: User, trainee: User, *, by: User | None) -> CoachAssignment:
    _check_pair(coach, trainee)
    if is_coach_of(coach, trainee.id):
        raise DomainError(f"{coach.name} is already {trainee.name}'s coach", field="coach_id")
    assignment = CoachAssignment(coach_id=coach.id, trainee_id=trainee.id)
    db.session.add(assignment)
    db.session.flush()
    audit.record(by, "coach.assigned", f"user:{trainee.id}", coach=f"user:{coach.id}")
    return assignment


def assign_many(coach: User, trainees: Iterable[User], *, by: User | None) -> BulkAssignment:
    """Assign ``coach`` to every trainee not already theirs; the others are reported, not errors."""
    trainees = list(trainees)
    if not trainees:
        raise DomainError("Select at least one trainee", field="trainee_ids")
    result = BulkAssignment()
    for trainee in trainees:
        _check_pair(coach, trainee)
        if is_coach_of(coach, trainee.id):
            result.already_assigned.append(trainee)
            continue
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        result.assigned.append(trainee)
    db.session.flush()
    if result.assigned:
        audit.record(by, "coach.assigned_many", f"user:{coach.id}",
                     assigned=len(result.assigned), skipped=len(result.already_assigned))
    return result


def remove(assignment: CoachAssignment, *, by: User | None) -> None:
    audit.record(by, "coach.unassigned", f"user:{assignment.trainee_id}",
                 coach=f"user:{assignment.coach_id}")
    db.session.delete(assignment)
    db.session.flush()
