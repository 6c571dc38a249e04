"""The leadership opportunities catalogue (issue 13, point 1): programme leads keep it, trainees
browse it, register interest and propose entries of their own, which a lead approves or declines
(co-produced, as the FMLM Leadership Commitment asks).

An entry is ``proposed`` until a lead reviews it, then ``open`` or ``declined``; a lead may close
an open entry and open it again. Trainees and coaches see open entries; a trainee also sees their
own proposals whatever their status. Every change a lead makes is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func
from sqlalchemy.orm import selectinload

from .. import audit, mail
from ..extensions import db
from ..models import (
    OPPORTUNITY_KINDS,
    OPPORTUNITY_STATUSES,
    LeadershipOpportunity,
    OpportunityElement,
    OpportunityInterest,
    Site,
    User,
)
from ..models.columns import utcnow
from ..urls import absolute_url
from . import DomainError, DomainErrors, Forbidden, clcf_framework

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 4000
HOW_TO_JOIN_MAX_LENGTH = 2000
CONTACT_MAX_LENGTH = 200
REASON_MAX_LENGTH = 1000
PER_PAGE = 20
KIND_LABELS = {
    "meeting": "Key meeting", "chairing": "Chairing", "interview_panel": "Interview panel",
    "shadowing": "Shadowing", "training_role": "Training or leadership role",
    "qi_project": "Quality improvement", "committee": "Committee", "forum": "Forum",
    "teaching": "Teaching", "mentoring": "Mentoring", "project": "Project", "other": "Other"}
STATUS_LABELS = {"proposed": "Awaiting review", "open": "Open", "closed": "Closed",
                 "declined": "Declined"}
assert set(KIND_LABELS) == set(OPPORTUNITY_KINDS)
assert set(STATUS_LABELS) == set(OPPORTUNITY_STATUSES)


@dataclass
class Fields:
    """What a lead (or a proposing trainee) typed for one entry."""

    title: str | None = None
    kind: str | None = None
    description: str | None = None
    how_to_join: str | None = None
    contact: str | None = None
    site_id: int | None = None
    elements: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Filters:
    """The browse page's filters, already checked (``None``: any)."""

    domain: str | None = None
    kind: str | None = None
    site_id: int | None = None


# --- Checking what was typed ---------------------------------------------------------------------

def _text(value: str | None, *, enter: str, called: str, name: str, limit: int,
          required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(f"Enter {enter}", field=name)
    if len(value) > limit:
        raise DomainError(f"{called} must be {limit:,} characters or fewer", field=name)
    return value


def problems(fields: Fields) -> list[DomainError]:
    """Every rule ``fields`` break, one per field, so a form shows them all at once."""
    found: list[DomainError] = []
    checks = [
        lambda: _text(fields.title, enter="a title", called="The title", name="title",
                      limit=TITLE_MAX_LENGTH, required=True),
        lambda: _text(fields.description, enter="a description", called="The description",
                      name="description",
                      limit=DESCRIPTION_MAX_LENGTH, required=True),
        lambda: _text(fields.how_to_join, enter="how to get involved",
                      called="How to get involved", name="how_to_join",
                      limit=HOW_TO_JOIN_MAX_LENGTH, required=True),
        lambda: _text(fields.contact, enter="a contact", called="The contact", name="contact",
                      limit=CONTACT_MAX_LENGTH, required=False),
        lambda: _check_kind(fields.kind), lambda: _check_site(fields.site_id),
        lambda: clcf_framework.checked_elements(fields.elements),
    ]
    for check in checks:
        try:
            check()
        except DomainError as problem:
            found.append(problem)
    return found


def _check_kind(kind: str | None) -> None:
    if kind not in OPPORTUNITY_KINDS:
        raise DomainError("Select what kind of opportunity this is", field="kind")


def _check_site(site_id: int | None) -> None:
    if site_id is not None and db.session.get(Site, site_id) is None:
        raise DomainError("Select a site from the list", field="site_id")


def _apply(opportunity: LeadershipOpportunity, fields: Fields) -> None:
    DomainErrors.raise_any(problems(fields))
    opportunity.title = (fields.title or "").strip()
    opportunity.kind = fields.kind or ""
    opportunity.description = (fields.description or "").strip()
    opportunity.how_to_join = (fields.how_to_join or "").strip()
    opportunity.contact = (fields.contact or "").strip() or None
    opportunity.site_id = fields.site_id
    wanted = {e.key: e for e in clcf_framework.checked_elements(fields.elements)}
    kept = [row for row in opportunity.elements if row.element_key in wanted]
    opportunity.elements = kept + [
        OpportunityElement(element_key=key, domain_key=element.domain_key)
        for key, element in wanted.items() if key not in {row.element_key for row in kept}]


def _audited(opportunity: LeadershipOpportunity) -> dict[str, object]:
    return {"title": opportunity.title, "kind": opportunity.kind,
            "description_length": len(opportunity.description or ""),
            "how_to_join_length": len(opportunity.how_to_join or ""),
            "contact": opportunity.contact, "site_id": opportunity.site_id,
            "elements": sorted(row.element_key for row in opportunity.elements)}


def _target(opportunity: LeadershipOpportunity) -> str:
    return f"opportunity:{opportunity.id}"


# --- A lead keeps the catalogue ------------------------------------------------------------------

def _check_lead(user: User) -> None:
    if user.role != "admin":
        raise Forbidden("Only programme leads keep the opportunities catalogue")


def create(fields: Fields, *, by: User) -> LeadershipOpportunity:
    _check_lead(by)
    opportunity = LeadershipOpportunity(status="open")
    _apply(opportunity, fields)
    db.session.add(opportunity)
    db.session.flush()
    audit.record(by, "opportunity.added", _target(opportunity), fields=_audited(opportunity))
    return opportunity


def update(opportunity: LeadershipOpportunity, fields: Fields, *, by: User) -> bool:
    """Change an entry (a proposal too, before approving it); whether anything changed."""
    _check_lead(by)
    before = _audited(opportunity)
    _apply(opportunity, fields)
    db.session.flush()
    after = _audited(opportunity)
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changes:
        audit.record(by, "opportunity.updated", _target(opportunity), changes=changes)
    return bool(changes)


def set_open(opportunity: LeadershipOpportunity, is_open: bool, *, by: User) -> None:
    _check_lead(by)
    if opportunity.status not in ("open", "closed"):
        raise DomainError("Only an approved opportunity can be opened or closed")
    wanted = "open" if is_open else "closed"
    if opportunity.status != wanted:
        opportunity.status = wanted
        db.session.flush()
        audit.record(by, f"opportunity.{'opened' if is_open else 'closed'}",
                     _target(opportunity))


def _decide(opportunity: LeadershipOpportunity, *, by: User, approved: bool,
            reason: str | None) -> None:
    _check_lead(by)
    if opportunity.status != "proposed":
        raise DomainError("This proposal has already been reviewed")
    opportunity.status = "open" if approved else "declined"
    opportunity.reviewed_by_id, opportunity.reviewed_at = by.id, utcnow()
    db.session.flush()
    audit.record(by, "opportunity.approved" if approved else "opportunity.declined",
                 _target(opportunity), **({} if approved else {"reason_length": len(reason or "")}))
    proposer = opportunity.proposed_by
    if proposer is not None and proposer.active:
        mail.queue(proposer.email, "Your leadership opportunity proposal has been "
                   + ("approved" if approved else "declined"), "opportunity_decided",
                   proposer=proposer, opportunity=opportunity, approved=approved, reason=reason,
                   link=absolute_url("opportunities.detail", opportunity_id=opportunity.id))


def approve(opportunity: LeadershipOpportunity, *, by: User) -> None:
    """Open a trainee's proposal to everyone; the proposer is emailed."""
    _decide(opportunity, by=by, approved=True, reason=None)


def decline(opportunity: LeadershipOpportunity, reason: str | None, *, by: User) -> None:
    """Decline a proposal; the reason goes to the proposer by email (the trail keeps its
    length only: it may be about them)."""
    reason = _text(reason, enter="the reason for declining", called="The reason",
                   name="reason", limit=REASON_MAX_LENGTH, required=True)
    _decide(opportunity, by=by, approved=False, reason=reason)


# --- A trainee proposes and registers interest ---------------------------------------------------

def propose(fields: Fields, *, by: User) -> LeadershipOpportunity:
    if by.role != "trainee":
        raise Forbidden("Only trainees propose opportunities")
    opportunity = LeadershipOpportunity(status="proposed", proposed_by_id=by.id)
    _apply(opportunity, fields)
    db.session.add(opportunity)
    db.session.flush()
    audit.record(by, "opportunity.proposed", _target(opportunity))
    return opportunity


def is_interested(opportunity: LeadershipOpportunity, trainee: User) -> bool:
    return db.session.get(OpportunityInterest, (opportunity.id, trainee.id)) is not None


def register_interest(opportunity: LeadershipOpportunity, trainee: User) -> bool:
    """Whether interest was newly registered (registering twice changes nothing)."""
    if trainee.role != "trainee":
        raise Forbidden("Only trainees register interest")
    if opportunity.status != "open":
        raise DomainError("This opportunity is not open at the moment")
    if is_interested(opportunity, trainee):
        return False
    db.session.add(OpportunityInterest(opportunity_id=opportunity.id, trainee_id=trainee.id))
    db.session.flush()
    return True


def withdraw_interest(opportunity: LeadershipOpportunity, trainee: User) -> bool:
    interest = db.session.get(OpportunityInterest, (opportunity.id, trainee.id))
    if interest is None:
        return False
    db.session.delete(interest)
    db.session.flush()
    return True


# --- Who sees what -------------------------------------------------------------------------------

def may_see(user: User, opportunity: LeadershipOpportunity) -> bool:
    """Open entries: trainees and coaches; a trainee's own proposal: that trainee."""
    if user.role == "trainee" and opportunity.proposed_by_id == user.id:
        return True
    return user.role in ("trainee", "coach") and opportunity.status == "open"


def browse_query(filters: Filters):  # type: ignore[no-untyped-def]
    """Open entries matching ``filters``, by title."""
    query = db.select(LeadershipOpportunity).where(LeadershipOpportunity.status == "open") \
        .options(selectinload(LeadershipOpportunity.elements),
                 selectinload(LeadershipOpportunity.site))
    if filters.domain:
        query = query.where(LeadershipOpportunity.id.in_(
            db.select(OpportunityElement.opportunity_id)
            .where(OpportunityElement.domain_key == filters.domain)))
    if filters.kind:
        query = query.where(LeadershipOpportunity.kind == filters.kind)
    if filters.site_id is not None:
        query = query.where(LeadershipOpportunity.site_id == filters.site_id)
    return query.order_by(func.lower(LeadershipOpportunity.title), LeadershipOpportunity.id)


def lead_query(status: str | None):  # type: ignore[no-untyped-def]
    """Every entry for a lead (or those of one status): proposals awaiting review first."""
    query = db.select(LeadershipOpportunity) \
        .options(selectinload(LeadershipOpportunity.proposed_by))
    if status:
        query = query.where(LeadershipOpportunity.status == status)
    awaiting_first = case((LeadershipOpportunity.status == "proposed", 0), else_=1)
    return query.order_by(awaiting_first, func.lower(LeadershipOpportunity.title),
                          LeadershipOpportunity.id)


def interest_counts(ids: list[int]) -> dict[int, int]:
    """How many trainees registered interest in each of these entries (one query for a page)."""
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(OpportunityInterest.opportunity_id, func.count())
        .where(OpportunityInterest.opportunity_id.in_(ids))
        .group_by(OpportunityInterest.opportunity_id))
    return {opportunity_id: number for opportunity_id, number in rows}


def count_by_status() -> dict[str, int]:
    rows = db.session.execute(db.select(LeadershipOpportunity.status, func.count())
                              .group_by(LeadershipOpportunity.status))
    counts = dict.fromkeys(OPPORTUNITY_STATUSES, 0)
    counts.update({status: number for status, number in rows})
    return counts


def awaiting_review() -> int:
    return count_by_status()["proposed"]


def proposals_of(trainee: User) -> list[LeadershipOpportunity]:
    return list(db.session.scalars(
        db.select(LeadershipOpportunity).where(LeadershipOpportunity.proposed_by_id == trainee.id)
        .order_by(LeadershipOpportunity.created_at.desc(), LeadershipOpportunity.id.desc())))


@dataclass(frozen=True)
class Interested:
    name: str
    email: str
    registered_at: datetime


def interested(opportunity: LeadershipOpportunity, people_filter) -> list[Interested]:  # type: ignore[no-untyped-def]
    """Who registered interest, earliest first; ``people_filter`` is the lead's scope (a WHERE
    clause on ``User``), so a lead limited to programmes sees their own trainees only."""
    rows = db.session.execute(
        db.select(User.name, User.email, OpportunityInterest.created_at)
        .join(User, User.id == OpportunityInterest.trainee_id)
        .where(OpportunityInterest.opportunity_id == opportunity.id, people_filter)
        .order_by(OpportunityInterest.created_at, User.id))
    return [Interested(name, email, at) for name, email, at in rows]


INTEREST_COLUMNS = ["Name", "Email", "Registered interest (UTC)"]


def interest_rows(people: list[Interested]) -> list[dict[str, str]]:
    return [{"Name": p.name, "Email": p.email,
             "Registered interest (UTC)": p.registered_at.strftime("%Y-%m-%d %H:%M")}
            for p in people]


def open_for_domain(domain_key: str, limit: int) -> list[LeadershipOpportunity]:
    """Open entries developing ``domain_key``, those with most of its elements first: what the
    development plan suggests for a low-scoring domain."""
    in_domain = func.count(OpportunityElement.element_key)
    return list(db.session.scalars(
        db.select(LeadershipOpportunity)
        .join(OpportunityElement, OpportunityElement.opportunity_id == LeadershipOpportunity.id)
        .where(LeadershipOpportunity.status == "open", OpportunityElement.domain_key == domain_key)
        .group_by(LeadershipOpportunity.id)
        .order_by(in_domain.desc(), func.lower(LeadershipOpportunity.title),
                  LeadershipOpportunity.id)
        .limit(limit)))
