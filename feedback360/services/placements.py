"""A trainee's placements: where they were, and when.

Affordances answers, activities and 360 cycles are tied to a placement by its dates, so a
trainee's own placements never overlap (an open-ended one runs until further notice), and a
placement cannot end before it starts. The trainee keeps them; a programme lead can correct them
from the person's page. Every problem with what was sent is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .. import audit
from ..extensions import db
from ..models import AffordanceResponse, Placement, Site, User
from . import DomainError, DomainErrors
from .accounts import normalise_email

TEXT_MAX = 120


@dataclass(frozen=True)
class PlacementDetails:
    site_id: int | None
    department: str | None
    specialty: str | None
    supervisor_name: str | None
    supervisor_email: str | None
    started_on: date | None
    ended_on: date | None


def placements_of(trainee: User) -> list[Placement]:
    """Newest first."""
    return list(db.session.scalars(
        db.select(Placement).where(Placement.trainee_id == trainee.id)
        .order_by(Placement.started_on.desc(), Placement.id.desc())))


def placement_on(trainee_id: int, day: date) -> Placement | None:
    """The trainee's placement covering ``day`` (at most one: they never overlap)."""
    return db.session.scalar(
        db.select(Placement).where(
            Placement.trainee_id == trainee_id, Placement.started_on <= day,
            (Placement.ended_on.is_(None)) | (Placement.ended_on >= day))
        .order_by(Placement.started_on.desc()).limit(1))


def _text(value: str | None, label: str, field: str, *, required: bool,
          problems: list[DomainError]) -> str | None:
    clean = " ".join((value or "").split())
    if not clean:
        if required:
            problems.append(DomainError(f"Enter the {label}", field=field))
        return None
    if len(clean) > TEXT_MAX:
        problems.append(DomainError(f"The {label} must be {TEXT_MAX} characters or fewer",
                                    field=field))
    return clean


def _overlapping(trainee: User, started_on: date, ended_on: date | None,
                 keep: Placement | None) -> Placement | None:
    query = db.select(Placement).where(Placement.trainee_id == trainee.id)
    if keep is not None:
        query = query.where(Placement.id != keep.id)
    query = query.where((Placement.ended_on.is_(None)) | (Placement.ended_on >= started_on))
    if ended_on is not None:
        query = query.where(Placement.started_on <= ended_on)
    return db.session.scalar(query.order_by(Placement.started_on).limit(1))


def describe(placement: Placement) -> str:
    until = f"{placement.ended_on:%-d %B %Y}" if placement.ended_on else "now"
    return (f"{placement.department}, {placement.site.name} "
            f"({placement.started_on:%-d %B %Y} to {until})")


def check(trainee: User, details: PlacementDetails, keep: Placement | None = None
          ) -> dict[str, object]:
    """The column values ``details`` give, or ``DomainErrors`` naming every problem; a date the
    form could not read (None) is the form's to report."""
    problems: list[DomainError] = []
    site = db.session.get(Site, details.site_id) if details.site_id else None
    if site is None:
        problems.append(DomainError("Select the site", field="site_id"))
    department = _text(details.department, "department", "department", required=True,
                       problems=problems)
    specialty = _text(details.specialty, "specialty", "specialty", required=False,
                      problems=problems)
    supervisor = _text(details.supervisor_name, "supervisor's name", "supervisor_name",
                       required=False, problems=problems)
    email = None
    if (details.supervisor_email or "").strip():
        try:
            email = normalise_email(details.supervisor_email or "")
        except DomainError as error:
            problems.append(DomainError(error.message, field="supervisor_email"))
    start, end = details.started_on, details.ended_on
    if start is not None and end is not None and end < start:
        problems.append(DomainError("The end date must be the same as or after the start date",
                                    field="ended_on"))
    elif start is not None:
        clash = _overlapping(trainee, start, end, keep)
        if clash is not None:
            problems.append(DomainError(
                f"These dates overlap another placement: {describe(clash)}. Change its dates "
                "first, or these", field="started_on"))
    DomainErrors.raise_any(problems)
    return {"site_id": site.id if site else None, "department": department,
            "specialty": specialty, "supervisor_name": supervisor, "supervisor_email": email,
            "started_on": start, "ended_on": end}


def add_placement(trainee: User, details: PlacementDetails, *, by: User) -> Placement:
    if trainee.role != "trainee":
        raise DomainError("Only trainees have placements")
    values = check(trainee, details)
    placement = Placement(trainee_id=trainee.id, **values)
    db.session.add(placement)
    db.session.flush()
    audit.record(by, "placement.added", f"placement:{placement.id}", trainee=trainee.id)
    return placement


def update_placement(placement: Placement, details: PlacementDetails, *, by: User) -> bool:
    """Whether anything changed."""
    values = check(placement.trainee, details, keep=placement)
    changed = sorted(name for name, value in values.items() if getattr(placement, name) != value)
    if not changed:
        return False
    for name in changed:
        setattr(placement, name, values[name])
    db.session.flush()
    audit.record(by, "placement.changed", f"placement:{placement.id}",
                 trainee=placement.trainee_id, fields=changed)
    return True


def delete_placement(placement: Placement, *, by: User) -> None:
    """Only a placement nothing has been answered about: affordances answers are kept."""
    answered = db.session.scalar(db.select(db.func.count(AffordanceResponse.id)).where(
        AffordanceResponse.placement_id == placement.id))
    if answered:
        raise DomainError("This placement cannot be deleted: you have answered the placement "
                          "questions about it. Correct its details instead")
    audit.record(by, "placement.deleted", f"placement:{placement.id}",
                 trainee=placement.trainee_id)
    db.session.delete(placement)
    db.session.flush()
