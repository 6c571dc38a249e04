"""Answering a survey: the rater's tokenised link, drafts saved per page, decline, submit once.

A rater's draft and submitted answers are sealed (``sealing``): the draft to its invitation, the
submitted answers to the cycle until it closes (``services/unsealing.py`` writes them out then).
The same draft and submit logic serves the trainee's self-assessment, which is never anonymous,
never counted as a rater and not sealed.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from .. import sealing, tokens
from ..extensions import db
from ..instruments import Instrument
from ..models import (
    COMMENT_MAX_LENGTH,
    Answer,
    Comment,
    FeedbackCycle,
    Invitation,
    Response,
    SealedResponse,
)
from ..text_input import control_character, refusal, storable
from ..urls import absolute_url
from . import DomainError
from .instrument_cache import instrument_for

NOT_OBSERVED = "na"


class LinkProblem(DomainError):
    """A survey link that cannot be used; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 410, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class BadAnswers(DomainError):
    """Answers that no form of ours could have sent: forged values or unknown items."""


# --- Links -----------------------------------------------------------------------------------

def survey_link(invitation: Invitation) -> str:
    return absolute_url("survey.start", token=survey_token(invitation))


def survey_token(invitation: Invitation) -> str:
    # Opaque values only: the invitation's id and its current nonce, never a name or an email.
    return tokens.issue(tokens.SURVEY_INVITATION, {"i": invitation.id, "n": invitation.token_nonce})


def read_survey_token(token: str) -> tuple[int, str]:
    try:
        payload = tokens.read(tokens.SURVEY_INVITATION, token)
    except tokens.TokenInvalid as exc:
        raise LinkProblem("This link is not valid", status=404) from exc
    if not (isinstance(payload, dict) and isinstance(payload.get("i"), int)
            and isinstance(payload.get("n"), str)):
        raise LinkProblem("This link is not valid", status=404)
    return payload["i"], payload["n"]


# Built once: SQLAlchemy then computes its cache key once, not on every request.
_cycle = joinedload(Invitation.cycle, innerjoin=True)
_INVITATION_WITH_CYCLE = (
    select(Invitation).where(Invitation.id == bindparam("invitation_id"))
    .options(_cycle.joinedload(FeedbackCycle.instrument_version, innerjoin=True),
             _cycle.joinedload(FeedbackCycle.trainee, innerjoin=True)))


def usable_invitation(invitation_id: int, nonce: str) -> Invitation:
    """The invitation behind a link or a rater session, if it may still be answered.

    Loaded in one query with what every survey page then reads: its cycle, the cycle's
    instrument snapshot (without the definition: a deferred column) and the trainee.
    """
    invitation = db.session.identity_map.get(identity_key(Invitation, invitation_id))
    if invitation is None:  # as Session.get: no query when this request has it already (submit)
        invitation = db.session.execute(_INVITATION_WITH_CYCLE,
                                        {"invitation_id": invitation_id}).scalar_one_or_none()
    if invitation is None or invitation.cycle.status == "draft":
        raise LinkProblem("This link is not valid", status=404)
    if invitation.removed_at is not None or invitation.token_nonce != nonce:
        raise LinkProblem("This request has been withdrawn",
                          detail="The person who asked for your feedback has withdrawn this "
                                 "request, so there is nothing more for you to do.")
    if invitation.status == "completed":
        raise LinkProblem("You have already given your feedback",
                          detail="Thank you. Your answers were submitted and cannot be changed.")
    if invitation.status == "declined":
        raise LinkProblem("You declined this request",
                          detail="You told us you would not give feedback this time.")
    if invitation.cycle.status != "open":
        raise LinkProblem("This feedback request has closed",
                          detail="The closing date has passed, so no more answers are being "
                                 "collected.")
    return invitation


def mark_opened(invitation: Invitation) -> None:
    if invitation.status in ("pending", "sent"):
        invitation.status = "opened"


def decline(invitation: Invitation, reason: str | None) -> None:
    reason = (reason or "").strip()
    if len(reason) > COMMENT_MAX_LENGTH:
        raise DomainError(f"Reason must be {COMMENT_MAX_LENGTH} characters or fewer",
                          field="reason")
    invitation.status = "declined"
    invitation.decline_reason = reason or None
    invitation.draft = None


# --- Drafts ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Draft:
    """Answers so far: item key -> score, or None for "not observed"; comments by prompt."""

    answers: dict[str, int | None]
    comments: dict[str, str]

    @classmethod
    def load(cls, stored: dict[str, Any] | None) -> Draft:
        stored = stored or {}
        answers = {key: (None if value == NOT_OBSERVED else int(value))
                   for key, value in (stored.get("answers") or {}).items()}
        return cls(answers=answers, comments=dict(stored.get("comments") or {}))

    def dump(self) -> dict[str, Any]:
        return {"answers": {key: NOT_OBSERVED if value is None else value
                            for key, value in self.answers.items()},
                "comments": dict(self.comments)}

    def unanswered(self, instrument: Instrument) -> list[str]:
        return [key for key in instrument.item_keys if key not in self.answers]

    def rated_count(self) -> int:
        return sum(1 for value in self.answers.values() if value is not None)

    def more_to_rate(self, instrument: Instrument) -> int:
        """How many more statements must be rated before a rater may submit."""
        return max(0, rated_needed(instrument) - self.rated_count())


def rated_needed(instrument: Instrument) -> int:
    """Statements a rater must rate (not "not observed") for their answers to count.

    Submitting is refused below it, so every stored rater response counts under the validity
    rule: the trainee's counts and the report agree, and no response is an odd one out.
    """
    return math.ceil(instrument.validity.min_rated_fraction * len(instrument.items))


def draft_of(invitation: Invitation) -> Draft:
    """The rater's answers so far, opened from the invitation's sealed draft."""
    if invitation.draft is None:
        return Draft({}, {})
    return Draft.load(sealing.unseal(invitation.draft, purpose=sealing.DRAFT,
                                     owner=invitation.id))


def keep_draft(invitation: Invitation, draft: Draft) -> None:
    """Seal ``draft`` to this invitation (re-sealed on every save: with the current key)."""
    invitation.draft = sealing.seal(draft.dump(), purpose=sealing.DRAFT, owner=invitation.id)


def apply_answers(draft: Draft, instrument: Instrument, item_keys: tuple[str, ...],
                  submitted: dict[str, str]) -> Draft:
    """One page's answers: a score on the scale, "na" for not observed, or nothing yet."""
    unknown = set(submitted) - set(item_keys)
    if unknown:
        raise BadAnswers("The answers sent do not match the questions on this page")
    answers = dict(draft.answers)
    for key in item_keys:
        value = (submitted.get(key) or "").strip()
        if not value:
            answers.pop(key, None)
        elif value == NOT_OBSERVED:
            answers[key] = None
        elif value.isdigit() and int(value) in instrument.scale.points:
            answers[key] = int(value)
        else:
            raise BadAnswers("An answer was not one of the choices offered")
    return Draft(answers=answers, comments=draft.comments)


def apply_comments(draft: Draft, instrument: Instrument, submitted: dict[str, str]) -> Draft:
    known = {prompt.key for prompt in instrument.comments}
    if set(submitted) - known:
        raise BadAnswers("The comments sent do not match the questions on this page")
    comments = dict(draft.comments)
    for key in known:
        text = (submitted.get(key) or "").strip()
        if len(text) > COMMENT_MAX_LENGTH:
            raise DomainError(f"Comments must be {COMMENT_MAX_LENGTH} characters or fewer",
                              field=key)
        character = control_character(text, multi_line=True)
        if character is not None:
            raise DomainError(refusal("Your comment", character), field=key)
        if text:
            comments[key] = text  # kept verbatim; templates always escape it
        else:
            comments.pop(key, None)
    return Draft(answers=draft.answers, comments=comments)


def _response_from(draft: Draft, cycle_id: int, *, rater_group: str | None,
                   is_self: bool) -> Response:
    response = Response(cycle_id=cycle_id, rater_group=rater_group, is_self=is_self)
    response.answers = [Answer(item_key=key, score=score) for key, score in draft.answers.items()]
    response.comments = [Comment(prompt_key=key, text=storable(text))
                         for key, text in draft.comments.items()]
    return response


# --- Submitting ------------------------------------------------------------------------------

def submit_invitation(invitation_id: int, nonce: str) -> None:
    """Seal the rater's draft as the cycle's answers, exactly once.

    The conditional UPDATE is the guard: however many submits race, only one finds the
    invitation still unanswered, and only that one inserts a sealed row. The row holds the
    rater group, answers and comments sealed to the cycle, nothing in clear but the cycle:
    a database copy can tell it was written as this invitation completed, never what it says.
    Closing the cycle writes every sealed row out, shuffled, as anonymous responses.
    """
    invitation = usable_invitation(invitation_id, nonce)
    draft = draft_of(invitation)
    if not draft.answers:
        raise DomainError("Answer at least one question before you submit")
    more = draft.more_to_rate(instrument_of(invitation))
    if more:
        raise DomainError(f"Rate {more} more statement{'s' if more != 1 else ''} before you "
                          "submit, or decline if you have not seen enough of their work")
    cycle_id = invitation.cycle_id
    sealed = sealing.seal(sealed_payload(draft, invitation.rater_group),
                          purpose=sealing.SUBMITTED, owner=cycle_id)
    # PostgreSQL: hold the cycle open until this commits, so closing cannot interleave.
    db.session.execute(db.select(FeedbackCycle.id).where(FeedbackCycle.id == cycle_id)
                       .with_for_update(read=True))
    cycle_open = exists().where(FeedbackCycle.id == Invitation.cycle_id,
                                FeedbackCycle.status == "open")
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.token_nonce == nonce,
               Invitation.status.in_(("sent", "opened")), Invitation.removed_at.is_(None),
               cycle_open)
        .values(status="completed", completed_on=datetime.now(UTC).date(), draft=None)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        # Another submit, a removal or the close got there first: say which, as the link
        # itself now would (a rater who lost to the close is not told their answers are in).
        db.session.expire(invitation)
        db.session.expire(invitation.cycle)
        usable_invitation(invitation_id, nonce)
        raise LinkProblem("You have already given your feedback",
                          detail="Thank you. Your answers were submitted and cannot be changed.")
    # One INSERT; the id is random, as every response id is: says nothing of who or when.
    db.session.execute(insert(SealedResponse.__table__).values(
        id=uuid.uuid4(), cycle_id=cycle_id, sealed=sealed))
    db.session.expire(invitation)


def sealed_payload(draft: Draft, rater_group: str) -> dict[str, Any]:
    """What a sealed response holds: the rater group, the answers ("na": not observed) and the
    comments (``services/unsealing.py`` reads it back)."""
    return {"g": rater_group, **draft.dump()}


def submit_self_assessment(cycle: FeedbackCycle) -> Response:
    if cycle.status not in ("draft", "open"):
        raise DomainError("The self-assessment closes with the cycle")
    draft = Draft.load(cycle.self_draft)
    if not draft.answers:
        raise DomainError("Answer at least one question before you submit")
    response = _response_from(draft, cycle.id, rater_group=None, is_self=True)
    try:
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError as exc:
        raise DomainError("You have already submitted your self-assessment") from exc
    cycle.self_draft = None
    return response


def self_assessment_done(cycle: FeedbackCycle) -> bool:
    return db.session.scalar(db.select(db.func.count()).select_from(Response).where(
        Response.cycle_id == cycle.id, Response.is_self)) > 0


def instrument_of(invitation: Invitation) -> Instrument:
    return instrument_for(invitation.cycle)
