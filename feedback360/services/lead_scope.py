"""Programme scoping: the one place that says what a programme lead limited to some programmes
may see and act on.

An admin with no ``LeadProgramme`` rows is unscoped and sees every programme, as every admin did
before scoping existed. A scoped lead reaches a cohort whose programme is one of theirs (compared
without case; a cohort with no programme belongs to nobody's scope), the trainees of those
cohorts, and what hangs off them (launches, cycles, coach assignments). Staff accounts, the audit
trail, the user import and programme scopes themselves stay with unscoped admins.

Views apply it in two ways, both from here: a query filter for every list (``cohort_filter``,
``user_filter``) and a check of the objects a route names (``reaches_route``), which the
blueprints run before every request, so a new route naming a cohort, launch, person, cycle or
coach assignment is covered without anyone remembering to; a route naming any other kind of
object is refused to a scoped lead until this module learns what it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import g, has_request_context
from sqlalchemy import ColumnElement, true

from .. import audit
from ..extensions import db
from ..models import (
    CoachAssignment,
    Cohort,
    CohortLaunch,
    FeedbackCycle,
    LeadProgramme,
    Placement,
    User,
)
from . import DomainError

PROGRAMME_MAX_LENGTH = 120


def _fold(programme: str | None) -> str:
    return " ".join((programme or "").split()).casefold()


def programmes_of(user: User) -> list[str]:
    """The programmes ``user`` is limited to, as stored (empty: unscoped)."""
    return list(db.session.scalars(db.select(LeadProgramme.programme)
                                   .where(LeadProgramme.user_id == user.id)
                                   .order_by(LeadProgramme.programme)))


def _scope(user: User) -> frozenset[str] | None:
    """``user``'s programmes case-folded, or None when they are not limited (or not an admin:
    other roles are kept out of admin pages by their role, not by this). Read once a request."""
    if user.role != "admin":
        return None
    cache = g.setdefault("_lead_scope", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = frozenset(_fold(p) for p in programmes_of(user)) or None
    return cache[user.id]


def is_scoped(user: User) -> bool:
    return _scope(user) is not None


def _cohort_ids(scope: frozenset[str]) -> list[int]:
    # Matched here rather than in SQL, by the same ``_fold`` as ``reaches_cohort``: SQLite's
    # lower() folds ASCII only, so a list and a page could otherwise disagree. Cohorts are few.
    rows = db.session.execute(db.select(Cohort.id, Cohort.programme)
                              .where(Cohort.programme.is_not(None)))
    return [cohort_id for cohort_id, programme in rows if _fold(programme) in scope]


def cohort_filter(user: User) -> ColumnElement[bool]:
    """A WHERE clause on ``Cohort``: the cohorts ``user`` may see."""
    scope = _scope(user)
    if scope is None:
        return true()
    return Cohort.id.in_(_cohort_ids(scope))


def user_filter(user: User) -> ColumnElement[bool]:
    """A WHERE clause on ``User``: the people ``user`` may see (a scoped lead: the trainees of
    their cohorts)."""
    scope = _scope(user)
    if scope is None:
        return true()
    return (User.role == "trainee") & User.cohort_id.in_(_cohort_ids(scope))


def reaches_cohort(user: User, cohort: Cohort | None) -> bool:
    scope = _scope(user)
    if scope is None:
        return True
    return cohort is not None and cohort.programme is not None and _fold(cohort.programme) in scope


def reaches_person(user: User, person: User | None) -> bool:
    if _scope(user) is None:
        return True
    return person is not None and person.role == "trainee" and reaches_cohort(user, person.cohort)


def _launch(user: User, launch_id: int) -> bool:
    launch = db.session.get(CohortLaunch, launch_id)
    return launch is not None and reaches_cohort(user, launch.cohort)


def _assignment(user: User, assignment_id: int) -> bool:
    assignment = db.session.get(CoachAssignment, assignment_id)
    return assignment is not None and reaches_person(user, assignment.trainee)


def _cycle(user: User, cycle_id: int) -> bool:
    cycle = db.session.get(FeedbackCycle, cycle_id)
    return cycle is not None and reaches_person(user, db.session.get(User, cycle.trainee_id))


def _placement(user: User, placement_id: int) -> bool:
    placement = db.session.get(Placement, placement_id)
    return placement is not None and reaches_person(user, db.session.get(User,
                                                                         placement.trainee_id))


# What each route argument names, and whether a scoped lead reaches it.
ROUTE_OBJECTS: dict[str, Callable[[User, int], bool]] = {
    "cohort_id": lambda user, id_: reaches_cohort(user, db.session.get(Cohort, id_)),
    "user_id": lambda user, id_: reaches_person(user, db.session.get(User, id_)),
    "launch_id": _launch,
    "assignment_id": _assignment,
    "cycle_id": _cycle,
    "placement_id": _placement,
}


def reaches_route(user: User, view_args: dict[str, object]) -> bool:
    """Whether ``user`` reaches every object a route's arguments name. Unknown kinds of object
    are refused to a scoped lead (fail closed); an unscoped admin reaches everything."""
    if _scope(user) is None:
        return True
    for name, value in view_args.items():
        if not isinstance(value, int):
            continue
        check = ROUTE_OBJECTS.get(name)
        if check is None or not check(user, value):
            return False
    return True


def check_programme(by: User | None, programme: str | None) -> None:
    """A scoped lead may create or move a cohort only into one of their programmes."""
    scope = _scope(by) if by is not None else None
    if scope is not None and _fold(programme) not in scope:
        raise DomainError("Enter one of the programmes you lead: "
                          + ", ".join(programmes_of(by)), field="programme")  # type: ignore[arg-type]


def check_account(by: User | None, *, role: str, cohort: Cohort | None) -> None:
    """A scoped lead manages trainee accounts in their own cohorts only: never a role other
    than trainee (no staff account, no promotion), never a cohort outside their programmes."""
    if by is None or _scope(by) is None:
        return
    if role != "trainee":
        raise DomainError("You can manage trainees only. Ask an admin who leads every "
                          "programme to manage staff accounts", field="role")
    if not reaches_cohort(by, cohort):
        raise DomainError("Select a cohort of a programme you lead", field="cohort_id")


def known_programmes(also: Iterable[str] = ()) -> list[str]:
    """Every programme a cohort names (one spelling each, without case), with ``also``: the
    choices offered when limiting a lead."""
    seen: dict[str, str] = {}
    names = db.session.scalars(db.select(Cohort.programme).where(Cohort.programme.is_not(None))
                               .distinct())
    for name in [*also, *names]:
        clean = " ".join((name or "").split())
        if clean:
            seen.setdefault(clean.casefold(), clean)
    return sorted(seen.values(), key=str.casefold)


def set_programmes(lead: User, programmes: Iterable[str], *, by: User) -> list[list[str]] | None:
    """Limit ``lead`` to ``programmes`` (none: every programme). Only an unscoped admin may, and
    not for themself (nobody narrows their own view, so an unscoped admin always remains).
    Returns (and audits) ``[before, after]``, or None when nothing changed."""
    if is_scoped(by):
        raise DomainError("Only an admin who leads every programme can change this")
    if lead.role != "admin":
        raise DomainError("Only programme leads (admins) can be limited to programmes")
    if lead.id == by.id:
        raise DomainError("You cannot limit your own programmes. Ask another admin to do it")
    wanted: dict[str, str] = {}
    for name in programmes:
        clean = " ".join(name.split())
        if len(clean) > PROGRAMME_MAX_LENGTH:
            raise DomainError(f"A programme must be {PROGRAMME_MAX_LENGTH} characters or fewer",
                              field="programmes")
        if clean:
            wanted.setdefault(clean.casefold(), clean)
    rows = list(db.session.scalars(db.select(LeadProgramme)
                                   .where(LeadProgramme.user_id == lead.id)))
    before = sorted((row.programme for row in rows), key=str.casefold)
    after = sorted(wanted.values(), key=str.casefold)
    if before == after:
        return None
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    db.session.add_all(LeadProgramme(user_id=lead.id, programme=name) for name in after)
    db.session.flush()
    if has_request_context():
        g.pop("_lead_scope", None)
    audit.record(by, "user.programmes_changed", f"user:{lead.id}", programmes=[before, after])
    return [before, after]
