"""The observer's side of written feedback: their emailed link, the draft they save and come
back to, submitting once, and declining. The observer has no account; the link (``tokens``,
purpose ``WRITTEN_FEEDBACK``) carries the request's id and nonce and expires
``OBSERVER_LINK_MAX_AGE_DAYS`` after the email that carried it.

A problem with a link is a ``surveys.LinkProblem``, so the observer meets the same pages, in the
same words, as a 360 rater.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update

from .. import audit, tokens
from ..extensions import db
from ..models import COMMENT_MAX_LENGTH, ActivityFeedbackRequest
from . import DomainError, DomainErrors, clcf_framework
from .surveys import LinkProblem
from .written_feedback import link_max_age

# Where the overall comment is kept among the form's fields (never an element key: those are
# lower-case words joined by hyphens).
OVERALL = "overall"
ANSWER_MAX_LENGTH = COMMENT_MAX_LENGTH


class ExpiredLink(LinkProblem):
    """A genuine link too old to use: the trainee can send the request again, with a new one."""

    renewable = True


def read_token(token: str) -> tuple[int, str]:
    try:
        payload = tokens.read(tokens.WRITTEN_FEEDBACK, token,
                              max_age=int(link_max_age().total_seconds()))
    except tokens.TokenExpired as exc:
        raise ExpiredLink("This link has expired",
                          detail="Links to give written feedback work for "
                                 f"{link_max_age().days} days after the email that carried "
                                 "them.") from exc
    except tokens.TokenInvalid as exc:
        raise LinkProblem("This link is not valid", status=404) from exc
    if not (isinstance(payload, dict) and isinstance(payload.get("f"), int)
            and isinstance(payload.get("n"), str)):
        raise LinkProblem("This link is not valid", status=404)
    return payload["f"], payload["n"]


def usable_request(request_id: int, nonce: str) -> ActivityFeedbackRequest:
    """The request behind a link or an observer session, if it may still be answered."""
    request = db.session.get(ActivityFeedbackRequest, request_id)
    if request is None or request.token_nonce != nonce or request.status == "pending":
        raise LinkProblem("This link is not valid", status=404)
    if request.status == "withdrawn":
        raise LinkProblem("This request has been withdrawn",
                          detail="The person who asked for your feedback has withdrawn this "
                                 "request, so there is nothing more for you to do.")
    if request.status == "given":
        raise LinkProblem("You have already given your feedback",
                          detail="Thank you. Your feedback was submitted and cannot be "
                                 "changed.")
    if request.status == "declined":
        raise LinkProblem("You declined this request",
                          detail="You told us you would not give feedback this time.")
    return request


def mark_opened(request: ActivityFeedbackRequest) -> None:
    if request.status == "sent":
        request.status = "opened"
        request.opened_at = datetime.now(UTC)


# --- The draft ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prompt:
    key: str
    title: str
    domain_title: str


def prompts_of(request: ActivityFeedbackRequest) -> list[Prompt]:
    """One prompt per element the trainee chose, in the framework's order."""
    elements = clcf_framework.elements_by_key()
    return [Prompt(key, elements[key].title, elements[key].domain_title)
            for key in request.element_keys if key in elements]


def draft_values(request: ActivityFeedbackRequest) -> dict[str, str]:
    """What the observer has written so far, by form field."""
    values = {key: str(text) for key, text in (request.answers or {}).items()
              if isinstance(text, str)}
    values[OVERALL] = request.overall or ""
    return values


def save_draft(request: ActivityFeedbackRequest, submitted: dict[str, str | None]) -> None:
    """Keep what was typed for each prompt and the overall comment (flushed). Blank boxes keep
    nothing; text over the limit is refused, naming its box."""
    problems = []
    answers: dict[str, str] = {}
    for prompt in prompts_of(request):
        text = (submitted.get(prompt.key) or "").strip()
        if len(text) > ANSWER_MAX_LENGTH:
            problems.append(DomainError(f"Your comment on {prompt.title} must be "
                                        f"{ANSWER_MAX_LENGTH} characters or fewer",
                                        field=prompt.key))
        elif text:
            answers[prompt.key] = text
    overall = (submitted.get(OVERALL) or "").strip()
    if len(overall) > ANSWER_MAX_LENGTH:
        problems.append(DomainError(f"Your overall comment must be {ANSWER_MAX_LENGTH} "
                                    "characters or fewer", field=OVERALL))
    DomainErrors.raise_any(problems)
    request.answers, request.overall = answers, overall
    request.saved_at = datetime.now(UTC)
    mark_opened(request)
    db.session.flush()


def has_something(request: ActivityFeedbackRequest) -> bool:
    return bool(request.overall or any(request.answers.values()))


def submit(request: ActivityFeedbackRequest) -> None:
    """Given, once: a second submit (a double click, another tab) finds it already given."""
    if not has_something(request):
        raise DomainError("Write at least one comment before you send your feedback")
    now = datetime.now(UTC)
    # Conditional, so two submits racing each other cannot both count.
    done = db.session.execute(
        update(ActivityFeedbackRequest)
        .where(ActivityFeedbackRequest.id == request.id,
               ActivityFeedbackRequest.token_nonce == request.token_nonce,
               ActivityFeedbackRequest.status.in_(("sent", "opened")))
        .values(status="given", given_at=now)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.rollback()
        db.session.expire_all()
        usable_request(request.id, request.token_nonce)  # says why
        raise LinkProblem("This link is not valid", status=404)
    db.session.refresh(request)
    audit.record(None, "written_feedback.given", f"feedback_request:{request.id}",
                 activity_id=request.activity_id)
    db.session.flush()


def decline(request: ActivityFeedbackRequest, reason: str | None) -> None:
    reason = (reason or "").strip()
    if len(reason) > ANSWER_MAX_LENGTH:
        raise DomainError(f"Reason must be {ANSWER_MAX_LENGTH} characters or fewer",
                          field="reason")
    request.status = "declined"
    request.declined_at = datetime.now(UTC)
    request.decline_reason = reason or None
    request.answers, request.overall = {}, ""
    # Whether a reason was given, never what it says.
    audit.record(None, "written_feedback.declined", f"feedback_request:{request.id}",
                 activity_id=request.activity_id, with_reason=bool(reason))
    db.session.flush()
