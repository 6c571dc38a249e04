"""Erasure of the portfolio and workplace data (issues 13 and 14), beside ``erasure`` (the 360
data). The erased account's row stays (anonymised, as ``erasure`` says), so no ON DELETE CASCADE
fires: everything is deleted or blanked here, child tables first.

- A trainee: their activities and education (elements, written feedback on them), time reports,
  placements and their affordances answers, letters, interest in opportunities, proposals not
  approved (an approved proposal is the catalogue's now and stays, unlinked from them), and the
  emails that asked observers for feedback on their activities (they name the trainee).
- An observer: their name, address and any decline reason or unsubmitted draft are blanked on
  every request sent to them, the link stops working, and letters that quote them say "An
  observer (name erased)". Feedback they gave stays: it is about the trainee's activity, part of
  the trainee's record, and no longer says who wrote it (README, "Erasure").
- Anyone who issued letters: the letters stay (the trainee holds them) with the issuer's name
  replaced. A champion: the commitment history and board reports stay, unlinked from them.
- A placement supervisor named by that address: name and address blanked on the placement.

Board reports keep the figures they were produced with: those are counts of trainees, never
names, and a board paper does not change after it was read. Flushes, never commits.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Delete, Update, or_

from ..extensions import db
from ..models import (
    Activity,
    ActivityElement,
    ActivityFeedbackRequest,
    AffordanceAnswer,
    AffordanceResponse,
    BoardReport,
    CommitmentStatus,
    LeadershipOpportunity,
    Letter,
    OpportunityElement,
    OpportunityInterest,
    OutboxMessage,
    Placement,
    TimeReport,
    User,
)

ERASED_OBSERVER = "An observer (name erased)"
ERASED_ISSUER = "An issuer (name erased)"
# Proposals a lead has not taken into the catalogue: still only the trainee's.
_UNAPPROVED = ("proposed", "declined")

KINDS = {
    "activities": ("leadership activity or education entry (with its written feedback)",
                   "leadership activities and education entries (with their written feedback)"),
    "time_reports": ("time report", "time reports"),
    "placements": ("placement (with their answers about it)",
                   "placements (with their answers about them)"),
    "letters": ("letter of achievement issued to them", "letters of achievement issued to them"),
    "opportunity_interest": ("registration of interest in an opportunity",
                             "registrations of interest in opportunities"),
    "proposals": ("proposed opportunity not taken into the catalogue",
                  "proposed opportunities not taken into the catalogue"),
    "feedback_requests_to_them": (
        "request for written feedback sent to them (name, address and any draft removed; "
        "feedback they gave stays, without their name)",
        "requests for written feedback sent to them (name, address and any drafts removed; "
        "feedback they gave stays, without their name)"),
    "letters_quoting_them": ("letter quoting their feedback (their name replaced)",
                             "letters quoting their feedback (their name replaced)"),
    "letters_issued": ("letter they issued (their name replaced)",
                       "letters they issued (their name replaced)"),
    "commitment_entries": ("Leadership Commitment entry they recorded (kept, without their name)",
                           "Leadership Commitment entries they recorded (kept, without their "
                           "name)"),
    "board_reports": ("board report they produced (kept, without their name)",
                      "board reports they produced (kept, without their name)"),
    "supervised_placements": ("placement naming them as supervisor (name and address removed)",
                              "placements naming them as supervisor (names and addresses "
                              "removed)"),
}


def _run(statement: Delete | Update) -> int:
    return db.session.execute(statement, execution_options={"synchronize_session": False}
                              ).rowcount or 0


def _count(model: type, *where: object) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where)) or 0


def _activity_ids(user: User) -> Any:
    return db.select(Activity.id).where(Activity.trainee_id == user.id)


def _proposals(user: User) -> Any:
    return db.select(LeadershipOpportunity.id).where(
        LeadershipOpportunity.proposed_by_id == user.id,
        LeadershipOpportunity.status.in_(_UNAPPROVED))


def observer_requests(email: str) -> list[ActivityFeedbackRequest]:
    """Requests for written feedback sent to ``email`` (case-folded, as stored)."""
    return list(db.session.scalars(
        db.select(ActivityFeedbackRequest)
        .where(ActivityFeedbackRequest.observer_email == email)
        .order_by(ActivityFeedbackRequest.id)))


def supervises(email: str) -> bool:
    """Whether a placement names ``email`` as the trainee's supervisor."""
    return _count(Placement, Placement.supervisor_email == email) > 0


def observer_mail(user: User) -> object:
    """Mail to observers that names the trainee (requests and reminders about their
    activities)."""
    observers = (db.select(ActivityFeedbackRequest.observer_email)
                 .where(ActivityFeedbackRequest.activity_id.in_(_activity_ids(user))))
    return OutboxMessage.to_address.in_(observers) & or_(
        OutboxMessage.subject.contains(user.name, autoescape=True),
        OutboxMessage.text_body.contains(user.name, autoescape=True))


def _letters_quoting(requests: list[ActivityFeedbackRequest]) -> list[Letter]:
    """Letters whose frozen content quotes one of ``requests``' observers on its activity."""
    wanted = {(r.activity_id, r.observer_name) for r in requests if r.status == "given"}
    if not wanted:
        return []
    trainees = {r.activity.trainee_id for r in requests if r.status == "given"}
    return [letter for letter in db.session.scalars(
                db.select(Letter).where(Letter.trainee_id.in_(trainees)).order_by(Letter.id))
            if any((activity.get("activity_id"), feedback.get("observer_name")) in wanted
                   for activity in letter.content.get("activities", [])
                   for feedback in activity.get("feedback", []))]


def preview(user: User | None, email: str) -> dict[str, int]:
    requests = observer_requests(email)
    counts = {
        "feedback_requests_to_them": len(requests),
        "letters_quoting_them": len(_letters_quoting(requests)),
        "supervised_placements": _count(Placement, Placement.supervisor_email == email),
    }
    if user is not None:
        counts |= {
            "activities": _count(Activity, Activity.trainee_id == user.id),
            "time_reports": _count(TimeReport, TimeReport.trainee_id == user.id),
            "placements": _count(Placement, Placement.trainee_id == user.id),
            "letters": _count(Letter, Letter.trainee_id == user.id),
            "opportunity_interest": _count(OpportunityInterest,
                                           OpportunityInterest.trainee_id == user.id),
            "proposals": _count(LeadershipOpportunity,
                                LeadershipOpportunity.id.in_(_proposals(user))),
            "letters_issued": _count(Letter, Letter.issued_by_id == user.id,
                                     Letter.trainee_id != user.id),
            "commitment_entries": _count(CommitmentStatus,
                                         CommitmentStatus.recorded_by_id == user.id),
            "board_reports": _count(BoardReport, BoardReport.produced_by_id == user.id),
        }
    return {kind: n for kind, n in counts.items() if n}


def erase(user: User | None, email: str) -> dict[str, int]:
    """Erase what :func:`preview` lists; call before the account is anonymised (the letters
    and mail are found by the person's name) and before their cycles go."""
    counts = _erase_as_observer(email)
    counts["supervised_placements"] = _run(
        db.update(Placement).where(Placement.supervisor_email == email)
        .values(supervisor_name=None, supervisor_email=None))
    if user is not None:
        counts |= _erase_trainee(user)
        counts |= _unlink(user)
    return counts


def _erase_as_observer(email: str) -> dict[str, int]:
    requests = observer_requests(email)
    letters = _letters_quoting(requests)
    quoted = {(r.activity_id, r.observer_name) for r in requests}
    for letter in letters:
        content = {**letter.content, "activities": [
            {**activity, "feedback": [
                {**feedback, "observer_name": ERASED_OBSERVER, "observer_role": ""}
                if (activity.get("activity_id"), feedback.get("observer_name")) in quoted
                else feedback
                for feedback in activity.get("feedback", [])]}
            for activity in letter.content.get("activities", [])]}
        letter.content = content  # a new dict, so the JSON column is seen to change
    for request in requests:
        address = f"erased-observer-{request.id}@invalid"
        request.observer_name, request.observer_email = ERASED_OBSERVER, address
        request.observer_role = request.decline_reason = None
        if request.status != "given":  # a draft is the observer's, never given to anyone
            request.answers, request.overall = {}, ""
        # the emailed link stops working: nobody may answer in the erased person's name
        request.token_nonce = secrets.token_hex(16)
    return {"feedback_requests_to_them": len(requests), "letters_quoting_them": len(letters)}


def _erase_trainee(user: User) -> dict[str, int]:
    activities = _activity_ids(user)
    _run(db.delete(ActivityFeedbackRequest)
         .where(ActivityFeedbackRequest.activity_id.in_(activities)))
    _run(db.delete(ActivityElement).where(ActivityElement.activity_id.in_(activities)))
    counts = {"activities": _run(db.delete(Activity).where(Activity.trainee_id == user.id)),
              "time_reports": _run(db.delete(TimeReport).where(TimeReport.trainee_id == user.id))}
    responses = db.select(AffordanceResponse.id).where(AffordanceResponse.trainee_id == user.id)
    _run(db.delete(AffordanceAnswer).where(AffordanceAnswer.response_id.in_(responses)))
    _run(db.delete(AffordanceResponse).where(AffordanceResponse.trainee_id == user.id))
    counts["placements"] = _run(db.delete(Placement).where(Placement.trainee_id == user.id))
    counts["letters"] = _run(db.delete(Letter).where(Letter.trainee_id == user.id))
    counts["opportunity_interest"] = _run(
        db.delete(OpportunityInterest).where(OpportunityInterest.trainee_id == user.id))
    proposals = list(db.session.scalars(_proposals(user)))
    # other trainees' activities may name a proposal: SQLite enforces no SET NULL
    _run(db.update(Activity).where(Activity.opportunity_id.in_(proposals))
         .values(opportunity_id=None))
    for table in (OpportunityElement, OpportunityInterest):
        _run(db.delete(table).where(table.opportunity_id.in_(proposals)))
    counts["proposals"] = _run(
        db.delete(LeadershipOpportunity).where(LeadershipOpportunity.id.in_(proposals)))
    return counts


def _unlink(user: User) -> dict[str, int]:
    """What others keep that this person did: kept, without them."""
    issued = list(db.session.scalars(
        db.select(Letter).where(Letter.issued_by_id == user.id)))
    for letter in issued:
        letter.issuer_name, letter.issued_by_id = ERASED_ISSUER, None
        letter.content = {**letter.content, "issuer_name": ERASED_ISSUER}
    _run(db.update(LeadershipOpportunity).where(LeadershipOpportunity.proposed_by_id == user.id)
         .values(proposed_by_id=None))
    _run(db.update(LeadershipOpportunity).where(LeadershipOpportunity.reviewed_by_id == user.id)
         .values(reviewed_by_id=None))
    return {
        "letters_issued": len(issued),
        "commitment_entries": _run(
            db.update(CommitmentStatus).where(CommitmentStatus.recorded_by_id == user.id)
            .values(recorded_by_id=None)),
        "board_reports": _run(
            db.update(BoardReport).where(BoardReport.produced_by_id == user.id)
            .values(produced_by_id=None)),
    }
