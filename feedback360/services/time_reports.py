"""Time for leadership development (issue 13, point 4): protected time a trainee used, and times
they could not get it (FMLM Leadership Commitment: Time).

A report keeps the trainee's site and specialty as they were when it was made (the placement
covering its date, else the profile's), so a later move does not shift an aggregate already
seen. Leads see the unavailable reports only in aggregate (``time_aggregate``); a trainee's
coach sees that trainee's reports one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func

from ..extensions import db
from ..models import User
from ..models.portfolio import TIME_REPORT_KINDS, TIME_UNAVAILABLE_REASONS, TimeReport
from . import DomainError, DomainErrors
from .activities import placement_on

TEXT_MAX_LENGTH = 2000
HOURS_MAX = 2000  # the model's hours_range
KIND_LABELS = {"used": "Protected time used", "unavailable": "Time not available"}
REASON_LABELS = {"rota": "Rota", "service_pressure": "Service pressure",
                 "leave_refused": "Leave refused", "other": "Other"}


@dataclass(frozen=True)
class TimeValues:
    """What a form sends for one report; ``None`` where a field could not be read."""

    kind: str | None
    occurred_on: date | None
    hours: float | None
    description: str | None
    reason: str | None = None
    reason_detail: str | None = ""


def report_problems(values: TimeValues, *, today: date | None = None) -> list[DomainError]:
    problems: list[DomainError] = []
    if values.kind not in TIME_REPORT_KINDS:
        problems.append(DomainError("Select protected time used or time not available",
                                    field="kind"))
    if values.occurred_on is not None and values.occurred_on > (today or date.today()):
        problems.append(DomainError("Date must be today or in the past", field="occurred_on"))
    if values.hours is None and values.kind == "used":
        problems.append(DomainError("Enter how many hours you used", field="hours"))
    elif values.hours is not None and not 0 < values.hours <= HOURS_MAX:
        problems.append(DomainError(f"Hours must be more than 0 and at most {HOURS_MAX}",
                                    field="hours"))
    if not (values.description or "").strip():
        what = "what the time went on" if values.kind == "used" else "what was lost"
        problems.append(DomainError(f"Say {what}", field="description"))
    for field, label in (("description", "The description"), ("reason_detail", "The detail")):
        if len(getattr(values, field) or "") > TEXT_MAX_LENGTH:
            problems.append(DomainError(f"{label} must be {TEXT_MAX_LENGTH} characters or fewer",
                                        field=field))
    if values.kind == "unavailable":
        if values.reason not in TIME_UNAVAILABLE_REASONS:
            problems.append(DomainError("Select why the time was not available", field="reason"))
        elif values.reason == "other" and not (values.reason_detail or "").strip():
            problems.append(DomainError("Say what the other reason was", field="reason_detail"))
    return problems


def _apply(report: TimeReport, trainee: User, values: TimeValues) -> None:
    assert values.kind and values.occurred_on
    report.kind, report.occurred_on, report.hours = values.kind, values.occurred_on, values.hours
    report.description = (values.description or "").strip()
    unavailable = values.kind == "unavailable"
    report.reason = values.reason if unavailable else None
    report.reason_detail = (values.reason_detail or "").strip() if unavailable else ""
    placement = placement_on(trainee, values.occurred_on)
    report.placement_id = placement.id if placement else None
    report.site = placement.site.name if placement else trainee.site
    report.specialty = (placement.specialty if placement and placement.specialty
                        else trainee.specialty)


def add_report(trainee: User, values: TimeValues, *, today: date | None = None) -> TimeReport:
    if trainee.role != "trainee":
        raise DomainError("Only trainees report time")
    DomainErrors.raise_any(report_problems(values, today=today))
    report = TimeReport(trainee_id=trainee.id)
    _apply(report, trainee, values)
    db.session.add(report)
    db.session.flush()
    return report


def update_report(report: TimeReport, trainee: User, values: TimeValues, *,
                  today: date | None = None) -> TimeReport:
    if report.trainee_id != trainee.id:
        raise DomainError("Only the trainee who made a report can change it")
    DomainErrors.raise_any(report_problems(values, today=today))
    _apply(report, trainee, values)
    db.session.flush()
    return report


def delete_report(report: TimeReport, trainee: User) -> None:
    if report.trainee_id != trainee.id:
        raise DomainError("Only the trainee who made a report can delete it")
    db.session.delete(report)
    db.session.flush()


def reports_of(trainee_id: int) -> list[TimeReport]:
    return list(db.session.scalars(db.select(TimeReport).where(TimeReport.trainee_id == trainee_id)
                                   .order_by(TimeReport.occurred_on.desc(), TimeReport.id.desc())))


def totals(trainee_id: int) -> dict[str, tuple[int, float]]:
    """Per kind: how many reports, and the hours they give."""
    found = dict.fromkeys(TIME_REPORT_KINDS, (0, 0.0))
    for kind, count, hours in db.session.execute(
            db.select(TimeReport.kind, func.count(),
                      func.coalesce(func.sum(TimeReport.hours), 0))
            .where(TimeReport.trainee_id == trainee_id).group_by(TimeReport.kind)):
        found[kind] = (count, float(hours))
    return found
