"""Subject access: everything the service holds about one person, found by their email address.

An account holder (trainee, coach or programme lead) gets their account, cycles, released reports
as they were released (the stored summary, never recomputed), self-assessments, development-plan
goals, coach notes about them, coach assignments, the mail sent to them and the audit events they
did or that were about them. A rater gets the invitations sent to their address and their
declines, and an explanation instead of answers: a submitted response is stored with nothing
that links it to anyone (docs/anonymity.md), so nobody, the service included, can say which
answers were theirs. The portfolio and workplace data (activities, written feedback,
placements, affordances, letters, the commitment tracker) is ``subject_access_portfolio``'s.
The view turns the result into a ZIP; this module only reads, and records
the export in the audit trail (counts only, never the data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_

from .. import audit
from ..email_identity import canonical
from ..extensions import db
from ..log_redaction import redact
from ..models import (
    AuditEvent,
    CoachAssignment,
    CoachNote,
    DevelopmentGoal,
    FeedbackCycle,
    Invitation,
    OutboxMessage,
    Response,
    User,
)
from . import subject_access_portfolio, written_feedback
from .summaries import comments_for, report_for

WHY_NO_ANSWERS = (
    "We cannot give you the answers or comments you gave as a rater. When you submitted, your "
    "answers were sealed, and when the cycle closed they were written out with nothing that "
    "links them to you: no name, no email address, no invitation and no time. That is how the "
    "service keeps feedback anonymous. It also means the service itself cannot tell which "
    "answers are yours, so it cannot show, change or delete them one person at a time. (If "
    "you were asked as a named role, such as the trainee's supervisor, the trainee's report "
    "shows that role's answers as such, but what is stored still does not name you.) What the "
    "service does hold about you is listed here: the invitations sent to your address, "
    "whether you declined and the reason you gave, and the emails it sent you.")
WHY_DRAFT_SEALED = (
    "A survey you started and have not yet submitted keeps your answers so far with its "
    "invitation, sealed so that only the survey itself can read them. Follow the link in your "
    "invitation email to see them. The draft is deleted when you submit or decline.")


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(**values: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in values.items()}


@dataclass
class SubjectAccess:
    """What was found for ``email``: one list of JSON-ready records per kind of data."""

    email: str
    name: str | None = None
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.sections)

    def counts(self) -> dict[str, int]:
        return {kind: len(records) if isinstance(records, list) else 1
                for kind, records in self.sections.items() if not kind.startswith("why_")}


def export(email: str, *, by: User) -> SubjectAccess:
    """Everything held about ``email`` (case-folded); the export is audited even when nothing
    was found, because looking someone up is itself worth a line in the trail."""
    folded = email.strip().lower()
    result = SubjectAccess(email=folded)
    user = db.session.scalar(db.select(User).where(User.email == folded))
    if user is not None:
        result.name = user.name
        result.sections.update(_account_holder(user))
        result.sections.update(subject_access_portfolio.for_trainee(user))
        result.sections.update(subject_access_portfolio.for_champion(user))
    invitations = _invitations(folded)
    if invitations:
        result.name = result.name or invitations[0].rater_name
        result.sections.update(_rater(invitations))
    observed = written_feedback.held_about_observer(folded)
    if observed:
        result.name = result.name or str(observed[0]["observer_name"])
        result.sections["written_feedback"] = observed
    mail = _mail(folded)
    if mail:
        result.sections["mail"] = mail
    audit.record(by, "subject_access.exported", folded[:200], found=result.found,
                 **result.counts())
    db.session.flush()
    return result


# --- An account holder ----------------------------------------------------------------------

def _account_holder(user: User) -> dict[str, Any]:
    cycles = list(db.session.scalars(
        db.select(FeedbackCycle).where(FeedbackCycle.trainee_id == user.id)
        .order_by(FeedbackCycle.id)))
    cycle_ids = [cycle.id for cycle in cycles]
    return {
        # No password hash, session nonce or second-factor secret: they are the account's
        # keys, not information about the person.
        "account": _row(
            email=user.email, name=user.name, role=user.role, active=user.active,
            password_set=user.password_hash is not None,
            cohort=user.cohort.name if user.cohort else None, specialty=user.specialty,
            training_year=user.training_year, site=user.site, created_at=user.created_at,
            activated_at=user.activated_at, last_login_at=user.last_login_at),
        "cycles": [_cycle(cycle) for cycle in cycles],
        "released_reports": [_released_report(cycle) for cycle in cycles
                             if cycle.status == "released" and cycle.summary is not None],
        "self_assessments": _self_assessments(cycles),
        "goals": [_row(cycle_id=goal.cycle_id, domain=goal.domain_key, element=goal.element_key,
                       action=goal.action, support=goal.support, due_on=goal.due_on,
                       status=goal.status, author=goal.author.name if goal.author else None,
                       created_at=goal.created_at, updated_at=goal.updated_at)
                  for goal in db.session.scalars(
                      db.select(DevelopmentGoal).where(DevelopmentGoal.cycle_id.in_(cycle_ids))
                      .order_by(DevelopmentGoal.id))],
        "coach_notes": [_row(cycle_id=note.cycle_id, text=note.text,
                             author=note.author.name if note.author else None,
                             created_at=note.created_at)
                        for note in db.session.scalars(
                            db.select(CoachNote).where(CoachNote.cycle_id.in_(cycle_ids))
                            .order_by(CoachNote.id))],
        "coach_assignments": [_row(coach=a.coach.name, trainee=a.trainee.name,
                                   created_at=a.created_at)
                              for a in db.session.scalars(
                                  db.select(CoachAssignment).where(or_(
                                      CoachAssignment.coach_id == user.id,
                                      CoachAssignment.trainee_id == user.id))
                                  .order_by(CoachAssignment.id))],
        "audit_events": _audit_events(user, cycle_ids),
    }


def _cycle(cycle: FeedbackCycle) -> dict[str, Any]:
    # How many colleagues were asked, never who answered: the trainee may not learn that.
    return _row(id=cycle.id, title=cycle.title, status=cycle.status, opens_on=cycle.opens_on,
                closes_on=cycle.closes_on, created_at=cycle.created_at,
                opened_at=cycle.opened_at, closed_at=cycle.closed_at,
                released_at=cycle.released_at,
                released_by=cycle.released_by.name if cycle.released_by else None,
                specialty_at_close=cycle.specialty_at_close,
                training_year_at_close=cycle.training_year_at_close,
                site_at_close=cycle.site_at_close, colleagues_asked=len(cycle.invitations))


def _released_report(cycle: FeedbackCycle) -> dict[str, Any]:
    summary = cycle.summary
    assert summary is not None  # only released cycles with a summary are asked for
    # Comments as the trainee's own report shows them: hidden ones left out, labels as shown.
    comments = [_row(prompt=c.prompt_key, text=c.text, group=c.group_label)
                for c in comments_for(cycle, report_for(cycle), include_hidden=False)]
    return _row(cycle_id=cycle.id, title=cycle.title, released_at=cycle.released_at,
                computed_at=summary.computed_at, response_count=summary.response_count,
                enough_responses=summary.enough_responses, report=summary.report,
                comments=comments)


def _self_assessments(cycles: list[FeedbackCycle]) -> list[dict[str, Any]]:
    submitted = {response.cycle_id: response for response in db.session.scalars(
        db.select(Response).where(Response.cycle_id.in_([c.id for c in cycles]),
                                  Response.is_self))}
    found = []
    for cycle in cycles:
        response = submitted.get(cycle.id)
        if response is not None:
            found.append(_row(
                cycle_id=cycle.id, submitted=True,
                answers={a.item_key: a.score for a in response.answers},
                comments={c.prompt_key: c.text for c in response.comments}))
        elif cycle.self_draft:
            found.append(_row(cycle_id=cycle.id, submitted=False, draft=cycle.self_draft))
    return found


def _audit_events(user: User, cycle_ids: list[int]) -> list[dict[str, Any]]:
    targets = [f"user:{user.id}", user.email[:200], *(f"cycle:{i}" for i in cycle_ids)]
    events = db.session.scalars(
        db.select(AuditEvent)
        .where(or_(AuditEvent.actor_id == user.id, AuditEvent.target.in_(targets)))
        .order_by(AuditEvent.id))
    return [_row(action=event.action, target=event.target,
                 by=event.actor.name if event.actor else None,
                 detail=event.detail, created_at=event.created_at,
                 client_address=event.client_address, user_agent=event.user_agent)
            for event in events]


# --- A rater --------------------------------------------------------------------------------

def _invitations(folded: str) -> list[Invitation]:
    try:
        identity = canonical(folded)
    except ValueError:  # not an address: only the text as typed can match
        identity = folded
    return list(db.session.scalars(
        db.select(Invitation).where(or_(Invitation.rater_email == folded,
                                        Invitation.rater_identity == identity))
        .order_by(Invitation.id)))


def _rater(invitations: list[Invitation]) -> dict[str, Any]:
    return {
        "invitations": [_row(
            trainee=i.cycle.trainee.name, cycle=i.cycle.title, name=i.rater_name,
            email=i.rater_email, group=i.rater_group, status=i.status,
            emails_sent=i.sent_count, reminders_sent=i.reminded_count,
            last_sent_at=i.last_sent_at, completed_on=i.completed_on,
            withdrawn_at=i.removed_at, closes_on=i.cycle.closing_date,
            draft_kept=i.draft is not None) for i in invitations],
        "declines": [_row(trainee=i.cycle.trainee.name, cycle=i.cycle.title,
                          reason=i.decline_reason)
                     for i in invitations if i.status == "declined"],
        "why_no_answers": WHY_NO_ANSWERS,
    }


def _mail(folded: str) -> list[dict[str, Any]]:
    # Mail not yet sent still holds its live link (a rater's key to the survey, an account's
    # password link): an export read by a programme lead and mailed on must not carry one.
    return [_row(subject=m.subject, status=m.status, created_at=m.created_at, sent_at=m.sent_at,
                 text=redact(m.text_body))
            for m in db.session.scalars(
                db.select(OutboxMessage).where(OutboxMessage.to_address == folded)
                .order_by(OutboxMessage.id))]
