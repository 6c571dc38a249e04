"""Cohorts: a programme's intake of trainees. Created, renamed and archived by programme leads.

Names are unique regardless of case and surrounding spaces, so "STP 2026" and "stp 2026 " cannot
both exist (the CSV import matches cohort names the same way). Archived cohorts keep their
trainees and history; they are only no longer offered where a cohort is picked.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import audit
from ..extensions import db
from ..models import Cohort, User
from . import DomainError, lead_scope, nominee_approval

NAME_MAX_LENGTH = 120
PROGRAMME_MAX_LENGTH = 120
INTAKE_YEARS = range(2000, 2101)


@dataclass(frozen=True)
class CohortListing:
    cohort: Cohort
    trainees: int


def find_by_name(name: str) -> Cohort | None:
    """The cohort with this name, compared without case or surrounding spaces."""
    return db.session.scalar(db.select(Cohort).where(
        db.func.lower(Cohort.name) == name.strip().lower()))


def active_cohorts(visible_to: User | None = None) -> list[Cohort]:
    """The cohorts offered in pickers: never an archived one; with ``visible_to``, only those
    in that programme lead's programmes."""
    query = db.select(Cohort).where(~Cohort.archived).order_by(Cohort.name)
    if visible_to is not None:
        query = query.where(lead_scope.cohort_filter(visible_to))
    return list(db.session.scalars(query))


def listings(*, archived: bool, visible_to: User) -> list[CohortListing]:
    """Active (or archived) cohorts ``visible_to`` may see, newest intake first, each with its
    number of trainees."""
    trainees = (db.select(User.cohort_id, db.func.count().label("n"))
                .where(User.role == "trainee").group_by(User.cohort_id).subquery())
    rows = db.session.execute(
        db.select(Cohort, db.func.coalesce(trainees.c.n, 0))
        .outerjoin(trainees, trainees.c.cohort_id == Cohort.id)
        .where(Cohort.archived.is_(archived), lead_scope.cohort_filter(visible_to))
        .order_by(Cohort.intake_year.desc().nulls_last(), Cohort.name)).all()
    return [CohortListing(cohort, count) for cohort, count in rows]


def trainees_of(cohort: Cohort) -> list[User]:
    return list(db.session.scalars(db.select(User).where(
        User.cohort_id == cohort.id, User.role == "trainee").order_by(User.name, User.email)))


def _clean(name: str, programme: str | None, intake_year: int | None,
           cohort: Cohort | None = None) -> tuple[str, str | None, int | None]:
    name = " ".join(name.split())
    programme = " ".join((programme or "").split()) or None
    if not name:
        raise DomainError("Enter a name for the cohort", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(f"Name must be {NAME_MAX_LENGTH} characters or fewer", field="name")
    if programme and len(programme) > PROGRAMME_MAX_LENGTH:
        raise DomainError(f"Programme must be {PROGRAMME_MAX_LENGTH} characters or fewer",
                          field="programme")
    if intake_year is not None and intake_year not in INTAKE_YEARS:
        raise DomainError(f"Intake year must be between {INTAKE_YEARS.start} and "
                          f"{INTAKE_YEARS.stop - 1}", field="intake_year")
    same_name = find_by_name(name)
    if same_name is not None and same_name is not cohort:
        raise DomainError(f"A cohort called {same_name.name} already exists. Choose another name",
                          field="name")
    return name, programme, intake_year


def create_cohort(*, name: str, programme: str | None, intake_year: int | None,
                  by: User | None, nominee_approval_required: bool = False) -> Cohort:
    name, programme, intake_year = _clean(name, programme, intake_year)
    lead_scope.check_programme(by, programme)
    cohort = Cohort(name=name, programme=programme, intake_year=intake_year, archived=False,
                    nominee_approval_required=nominee_approval_required)
    db.session.add(cohort)
    db.session.flush()
    audit.record(by, "cohort.created", f"cohort:{cohort.id}")
    return cohort


def update_cohort(cohort: Cohort, *, name: str, programme: str | None, intake_year: int | None,
                  by: User | None, nominee_approval_required: bool | None = None) -> list[str]:
    """Apply the new values; returns the names of the fields that changed (audited).

    ``nominee_approval_required`` None leaves the setting as it is."""
    name, programme, intake_year = _clean(name, programme, intake_year, cohort)
    lead_scope.check_programme(by, programme)
    if nominee_approval_required is None:
        nominee_approval_required = cohort.nominee_approval_required
    values = (("name", name), ("programme", programme), ("intake_year", intake_year),
              ("nominee_approval_required", nominee_approval_required))
    changed = [field for field, value in values if getattr(cohort, field) != value]
    releasing = cohort.nominee_approval_required and not nominee_approval_required
    for field, value in values:
        setattr(cohort, field, value)
    db.session.flush()
    if releasing:
        nominee_approval.release_held(cohort)
    if changed:
        audit.record(by, "cohort.updated", f"cohort:{cohort.id}", fields=changed)
    return changed


def archive_cohort(cohort: Cohort, *, by: User | None) -> None:
    if cohort.archived:
        raise DomainError(f"{cohort.name} is already archived")
    cohort.archived = True
    db.session.flush()
    audit.record(by, "cohort.archived", f"cohort:{cohort.id}")


def unarchive_cohort(cohort: Cohort, *, by: User | None) -> None:
    if not cohort.archived:
        raise DomainError(f"{cohort.name} is not archived")
    cohort.archived = False
    db.session.flush()
    audit.record(by, "cohort.unarchived", f"cohort:{cohort.id}")
