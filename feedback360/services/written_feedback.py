"""Named written feedback on an activity, from the trainee's side: ask an observer, withdraw or
resend a request, who may see it, and the spaced reminders ``flask send-observer-reminders``
sends (FMLM Leadership Commitment: written feedback on specific leadership activities).

Unlike a 360 rater, the observer answers under their own name, shown to the trainee and their
coach, and is told so before answering. The observer's side (the link, the draft, submit,
decline) is ``observer_answers``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app

from .. import audit, mail, tokens
from ..email_identity import InvalidAddress, allowed, canonical, describe_rules
from ..extensions import db
from ..models import Activity, ActivityFeedbackRequest, User
from ..urls import absolute_url
from . import DomainError, DomainErrors, clcf_framework, coaching
from .accounts import normalise_email
from .nominee_addresses import allowed_domains
from .retention import PURGED_RATER_DOMAIN

# A request still waiting for the observer: a second one to the same person would be a nag.
LIVE_STATUSES = ("pending", "sent", "opened")
NAME_MAX = 120
ROLE_MAX = 120
MESSAGE_MAX = 1000
STATUS_LABELS = {"pending": "Not sent yet", "sent": "Sent", "opened": "Opened",
                 "declined": "Declined", "given": "Feedback given", "withdrawn": "Withdrawn"}


# --- Who may see and manage ---------------------------------------------------------------------

def may_view(user: User, activity: Activity) -> bool:
    """The trainee whose activity it is and their coaches."""
    if not user.is_authenticated:
        return False
    if user.role == "trainee":
        return activity.trainee_id == user.id
    return user.role == "coach" and coaching.is_coach_of(user, activity.trainee_id)


def may_manage(user: User, activity: Activity) -> bool:
    """Only the trainee asks, withdraws and resends: the observer writes to them."""
    return user.is_authenticated and user.role == "trainee" and activity.trainee_id == user.id


# --- Asking -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Observer:
    name: str
    email: str
    role: str | None
    element_keys: list[str]
    message: str


def check_request(activity: Activity, *, name: str | None, email: str | None,
                  role: str | None, element_keys: list[str] | None,
                  message: str | None) -> Observer:
    """Every problem with a request at once (``DomainErrors``), or the cleaned values."""
    problems: list[DomainError] = []
    name = " ".join((name or "").split())
    if not name:
        problems.append(DomainError("Enter the observer's name", field="name"))
    elif len(name) > NAME_MAX:
        problems.append(DomainError(f"Name must be {NAME_MAX} characters or fewer",
                                    field="name"))
    role = " ".join((role or "").split()) or None
    if role and len(role) > ROLE_MAX:
        problems.append(DomainError(f"Role must be {ROLE_MAX} characters or fewer",
                                    field="role"))
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        problems.append(DomainError(f"Message must be {MESSAGE_MAX} characters or fewer",
                                    field="message"))
    address = ""
    try:
        address = _check_address(activity, email)
    except DomainError as error:
        problems.append(error)
    keys = list(element_keys or [])
    offered = {element.element_key for element in activity.elements}
    if any(key not in offered for key in keys):
        problems.append(DomainError("Select elements of this activity from the list",
                                    field="elements"))
    elif offered and not keys:
        problems.append(DomainError("Select at least one element for the observer to comment "
                                    "on", field="elements"))
    DomainErrors.raise_any(problems)
    # The framework's order, whatever order the boxes were sent in.
    ordered = [element.key for element in clcf_framework.checked_elements(keys, required=False)]
    return Observer(name=name, email=address, role=role, element_keys=ordered, message=message)


def _check_address(activity: Activity, raw: str | None) -> str:
    """The address to mail, or why not: the trainee's own in any form (the feedback would be
    theirs), one already asked and not yet answered for this activity, or outside the domains
    colleagues must use (``RATER_EMAIL_DOMAINS``)."""
    if not (raw or "").strip():
        raise DomainError("Enter the observer's email address", field="email")
    email = normalise_email(raw or "")
    identity = canonical(email)
    if identity == _identity(activity.trainee.email):
        raise DomainError("You cannot ask yourself: written feedback comes from someone who "
                          "saw you do it", field="email")
    for earlier in activity.feedback_requests:
        if earlier.status in LIVE_STATUSES and _identity(earlier.observer_email) == identity:
            raise DomainError(f"{email} has already been asked for feedback on this activity "
                              f"(as {earlier.observer_email}); resend that request instead",
                              field="email")
    rules = allowed_domains()
    if not allowed(identity, rules):
        raise DomainError(f"{email} cannot be used: observers must be asked at their work "
                          f"address, {describe_rules(rules)}", field="email")
    return email


def _identity(address: str) -> str:
    try:
        return canonical(address)
    except InvalidAddress:  # stored before addresses were validated: compare as is
        return address


def request_feedback(activity: Activity, by: User, observer: Observer) -> ActivityFeedbackRequest:
    """Record the request and queue its email (flushed)."""
    request = ActivityFeedbackRequest(
        activity=activity, observer_name=observer.name, observer_email=observer.email,
        observer_role=observer.role, element_keys=observer.element_keys,
        message=observer.message, token_nonce=secrets.token_hex(16), status="pending",
        answers={}, overall="")
    db.session.add(request)
    db.session.flush()
    _send(request)
    audit.record(by, "written_feedback.requested", f"feedback_request:{request.id}",
                 activity_id=activity.id, elements=len(observer.element_keys))
    db.session.flush()
    return request


def withdraw(request: ActivityFeedbackRequest, by: User) -> None:
    """The link stops working at once; nothing is kept of a draft the observer had started."""
    if request.status not in LIVE_STATUSES:
        raise DomainError("Only a request still waiting for the observer can be withdrawn")
    request.status = "withdrawn"
    request.answers, request.overall = {}, ""
    audit.record(by, "written_feedback.withdrawn", f"feedback_request:{request.id}",
                 activity_id=request.activity_id)
    db.session.flush()


def resend(request: ActivityFeedbackRequest, by: User) -> None:
    """The email again, with a fresh link (a lost email, or one whose link expired)."""
    if request.status not in LIVE_STATUSES:
        raise DomainError("Only a request still waiting for the observer can be sent again")
    if request.observer_email.endswith(PURGED_RATER_DOMAIN):  # flask purge removed the address
        raise DomainError("This request's link expired long ago and the observer's details "
                          "have been removed: ask them again")
    _send(request)
    audit.record(by, "written_feedback.resent", f"feedback_request:{request.id}",
                 activity_id=request.activity_id)
    db.session.flush()


# --- Links and mail -----------------------------------------------------------------------------

def observer_token(request: ActivityFeedbackRequest) -> str:
    # Opaque values only: the request's id and nonce, never a name or an address.
    return tokens.issue(tokens.WRITTEN_FEEDBACK, {"f": request.id, "n": request.token_nonce})


def observer_link(request: ActivityFeedbackRequest) -> str:
    return absolute_url("observer.start", token=observer_token(request))


def link_max_age() -> timedelta:
    return timedelta(days=current_app.config["OBSERVER_LINK_MAX_AGE_DAYS"])


def _send(request: ActivityFeedbackRequest, *, reminder: bool = False) -> None:
    activity = request.activity
    trainee = activity.trainee
    subject = (f"Reminder: {trainee.name} would value your written feedback" if reminder
               else f"{trainee.name} asks for your written feedback on a leadership activity")
    elements = clcf_framework.elements_by_key()
    mail.queue(request.observer_email, subject,
               "written_feedback_reminder" if reminder else "written_feedback_request",
               request=request, activity=activity, trainee=trainee,
               elements=[elements[key] for key in request.element_keys if key in elements],
               link=observer_link(request),
               link_days=current_app.config["OBSERVER_LINK_MAX_AGE_DAYS"])
    now = datetime.now(UTC)
    if reminder:
        request.reminder_count += 1
        request.last_reminded_at = now
    else:
        request.sent_at = now
        if request.status == "pending":
            request.status = "sent"


# --- Reminders ----------------------------------------------------------------------------------

def send_reminders(now: datetime | None = None) -> int:
    """Remind observers who have not answered, ``OBSERVER_REMINDER_GAP_DAYS`` after the latest
    email, at most ``OBSERVER_REMINDER_MAX`` times. Idempotent: a reminder moves the latest email
    to now, so running again at once sends nothing."""
    now = now or datetime.now(UTC)
    config = current_app.config
    gap = timedelta(days=config["OBSERVER_REMINDER_GAP_DAYS"])
    cutoff = now - gap
    latest = db.func.coalesce(ActivityFeedbackRequest.last_reminded_at,
                              ActivityFeedbackRequest.sent_at)
    due = db.session.scalars(
        db.select(ActivityFeedbackRequest)
        .join(Activity, ActivityFeedbackRequest.activity_id == Activity.id)
        .join(User, Activity.trainee_id == User.id)
        .where(ActivityFeedbackRequest.status.in_(("sent", "opened")),
               ActivityFeedbackRequest.reminder_count < config["OBSERVER_REMINDER_MAX"],
               latest.is_not(None), latest <= cutoff, User.active)
        .order_by(ActivityFeedbackRequest.id)
        .with_for_update(of=ActivityFeedbackRequest, skip_locked=True)).all()
    for request in due:
        _send(request, reminder=True)
        audit.record(None, "written_feedback.reminded", f"feedback_request:{request.id}",
                     activity_id=request.activity_id, reminder=request.reminder_count)
    db.session.flush()
    return len(due)


# --- Showing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GivenAnswer:
    element_title: str
    domain_title: str
    text: str


def answers_by_element(request: ActivityFeedbackRequest) -> list[GivenAnswer]:
    """The observer's words by chosen element, in the framework's order (given requests only:
    a draft is the observer's until they submit it)."""
    if request.status != "given":
        return []
    elements = clcf_framework.elements_by_key()
    return [GivenAnswer(elements[key].title if key in elements else key,
                        elements[key].domain_title if key in elements else "",
                        str(request.answers.get(key) or ""))
            for key in request.element_keys if (request.answers or {}).get(key)]


def activity_of(activity_id: int) -> Activity | None:
    return db.session.get(Activity, activity_id)


def held_about_observer(email: str) -> list[dict[str, object]]:
    """Every request sent to ``email`` (case-folded), with what they wrote, for a subject access
    export: the observer's own words are theirs to see."""
    rows = db.session.scalars(
        db.select(ActivityFeedbackRequest)
        .where(ActivityFeedbackRequest.observer_email == email)
        .order_by(ActivityFeedbackRequest.id)).all()
    return [{"observer_name": r.observer_name, "observer_role": r.observer_role,
             "trainee": r.activity.trainee.name, "activity": r.activity.title,
             "status": r.status, "requested_at": r.created_at.isoformat(),
             "given_at": r.given_at.isoformat() if r.given_at else None,
             "answers": dict(r.answers or {}), "overall": r.overall,
             "decline_reason": r.decline_reason} for r in rows]
