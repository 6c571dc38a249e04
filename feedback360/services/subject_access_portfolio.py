"""Subject access for the portfolio and workplace data (issues 13 and 14), beside the 360 data
``subject_access`` gathers: for a trainee, their activities and education with the written
feedback asked for on them, time reports, placements, their own affordances answers, letters as
issued, interest in opportunities and their proposals; for a champion, the commitment entries
they recorded and the board reports they produced.

Written feedback is named, not anonymous: the observer wrote it for the trainee under their own
name, so it goes to the trainee with the name. An observer's unsubmitted draft does not: it is
the observer's until they submit it (``written_feedback.answers_by_element``), and the observer's
own export (``written_feedback.held_about_observer``) carries it. Only reads.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Activity,
    AffordanceResponse,
    BoardReport,
    CommitmentStatus,
    LeadershipOpportunity,
    Letter,
    OpportunityInterest,
    Placement,
    TimeReport,
    User,
)

WHY_AFFORDANCES = (
    "Your answers about your placements (the workplace questionnaire) are your own: the service "
    "shows them to you, and to your coach only if you chose to share them. Programme leads and "
    "leadership champions see them only combined with other trainees' answers. This export was "
    "made by an administrator at your request, to be handed to you; the administrator who made "
    "it can read it, so it is sent to you as the service's other subject access exports are.")


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(**values: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in values.items()}


def for_trainee(user: User) -> dict[str, Any]:
    """The trainee's portfolio and workplace sections; kinds with nothing in them are left out."""
    sections: dict[str, Any] = {
        "activities": _activities(user),
        "time_reports": [_row(kind=r.kind, occurred_on=r.occurred_on, hours=r.hours,
                              description=r.description, reason=r.reason,
                              reason_detail=r.reason_detail, site=r.site,
                              specialty=r.specialty, created_at=r.created_at)
                         for r in db.session.scalars(
                             db.select(TimeReport).where(TimeReport.trainee_id == user.id)
                             .order_by(TimeReport.occurred_on, TimeReport.id))],
        "placements": [_row(id=p.id, site=p.site.name, organisation=p.site.organisation.name,
                            department=p.department, specialty=p.specialty,
                            supervisor_name=p.supervisor_name,
                            supervisor_email=p.supervisor_email, started_on=p.started_on,
                            ended_on=p.ended_on, created_at=p.created_at)
                       for p in db.session.scalars(
                           db.select(Placement).where(Placement.trainee_id == user.id)
                           .order_by(Placement.started_on, Placement.id))],
        "affordances": _affordances(user),
        "letters": [_row(title=letter.title, verification_code=letter.verification_code,
                         issuer_name=letter.issuer_name, issuer_role=letter.issuer_role,
                         issued_at=letter.issued_at, revoked_at=letter.revoked_at,
                         content=letter.content)
                    for letter in db.session.scalars(
                        db.select(Letter).where(Letter.trainee_id == user.id)
                        .order_by(Letter.issued_at, Letter.id))],
        "opportunity_interest": [_row(opportunity=i.opportunity.title,
                                      status=i.opportunity.status, registered_at=i.created_at)
                                 for i in db.session.scalars(
                                     db.select(OpportunityInterest)
                                     .where(OpportunityInterest.trainee_id == user.id)
                                     .order_by(OpportunityInterest.created_at))],
        "proposals": [_row(title=o.title, kind=o.kind, description=o.description,
                           contact=o.contact, how_to_join=o.how_to_join, status=o.status,
                           proposed_at=o.created_at, reviewed_at=o.reviewed_at)
                      for o in db.session.scalars(
                          db.select(LeadershipOpportunity)
                          .where(LeadershipOpportunity.proposed_by_id == user.id)
                          .order_by(LeadershipOpportunity.id))],
    }
    found = {kind: records for kind, records in sections.items() if records}
    if "affordances" in found:
        found["why_affordances"] = WHY_AFFORDANCES
    return found


def _activities(user: User) -> list[dict[str, Any]]:
    activities = db.session.scalars(
        db.select(Activity).where(Activity.trainee_id == user.id)
        .options(selectinload(Activity.elements), selectinload(Activity.feedback_requests))
        .order_by(Activity.started_on, Activity.id))
    return [_row(
        id=a.id, kind=a.kind, category=a.category, title=a.title, description=a.description,
        started_on=a.started_on, ended_on=a.ended_on, hours=a.hours,
        elements=[e.element_key for e in a.elements], went_well=a.went_well,
        do_differently=a.do_differently,
        opportunity=a.opportunity.title if a.opportunity else None,
        placement_id=a.placement_id, created_at=a.created_at, updated_at=a.updated_at,
        written_feedback=[_row(
            observer_name=r.observer_name, observer_role=r.observer_role,
            observer_email=r.observer_email, status=r.status, elements=list(r.element_keys),
            message=r.message, requested_at=r.created_at, given_at=r.given_at,
            # the observer's draft stays theirs until they submit it
            answers=dict(r.answers or {}) if r.status == "given" else {},
            overall=r.overall if r.status == "given" else "",
            decline_reason=r.decline_reason) for r in a.feedback_requests])
        for a in activities]


def _affordances(user: User) -> list[dict[str, Any]]:
    responses = db.session.scalars(
        db.select(AffordanceResponse).where(AffordanceResponse.trainee_id == user.id)
        .options(selectinload(AffordanceResponse.answers))
        .order_by(AffordanceResponse.submitted_at, AffordanceResponse.id))
    return [_row(placement_id=r.placement_id, cycle_id=r.cycle_id,
                 questionnaire=f"{r.instrument_version.title} "
                               f"(version {r.instrument_version.version})",
                 answers={a.item_key: a.score for a in r.answers}, comment=r.comment,
                 shared_with_coach=r.shared_with_coach, submitted_at=r.submitted_at)
            for r in responses]


def for_champion(user: User) -> dict[str, Any]:
    """What a champion (or anyone) recorded in a commitment tracker and the board reports they
    produced (the report as produced: its figures are aggregates, about no one)."""
    sections = {
        "commitment_entries": [_row(organisation_id=s.organisation_id,
                                    criterion=s.criterion_key, status=s.status, owner=s.owner,
                                    evidence=s.evidence, review_on=s.review_on,
                                    recorded_at=s.recorded_at)
                               for s in db.session.scalars(
                                   db.select(CommitmentStatus)
                                   .where(CommitmentStatus.recorded_by_id == user.id)
                                   .order_by(CommitmentStatus.id))],
        "board_reports": [_row(organisation=r.organisation.name, year=r.year,
                               quarter=r.quarter, commentary=r.commentary,
                               produced_at=r.produced_at, updated_at=r.updated_at)
                          for r in db.session.scalars(
                              db.select(BoardReport).where(BoardReport.produced_by_id == user.id)
                              .order_by(BoardReport.id))],
    }
    return {kind: records for kind, records in sections.items() if records}
