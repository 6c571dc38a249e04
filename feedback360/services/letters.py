"""Letters of achievement (issue 13, point 5): issued by a coach or a programme lead for a
trainee's activities that have written feedback, frozen as issued, verified by their code.

What a letter says is copied into ``Letter.content`` when it is issued, so editing an activity
or its feedback later never changes a letter someone already holds. The public verify page
reads only ``verify``'s answer: that a letter with the code exists, for whom, by whom, when,
its title and whether it was revoked; never the activities or the feedback quoted.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import selectinload

from .. import audit
from ..extensions import db
from ..models import Activity, ActivityFeedbackRequest, Letter, User, utcnow
from ..role_names import role_name
from . import DomainError, DomainErrors, coaching, lead_scope
from .clcf_framework import elements_by_key

# No 0/O, 1/I/L: a code read aloud or copied from paper has one reading.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_GROUPS, GROUP_LENGTH = 3, 4
CODE_LENGTH = CODE_GROUPS * GROUP_LENGTH
TITLE_MAX_LENGTH = 200
CITATION_MAX_LENGTH = 600
# What a typed code may carry besides its characters: spaces, dashes of any kind, dots.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212._]+")


def new_code() -> str:
    """A random code in groups, e.g. ``K7QF-3MZP-XR9A`` (31**12: about 59 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return _grouped(raw)


def _grouped(raw: str) -> str:
    return "-".join(raw[i:i + GROUP_LENGTH] for i in range(0, CODE_LENGTH, GROUP_LENGTH))


def normalise_code(text: str | None) -> str | None:
    """The code as stored, from what someone typed (any case, spaces or dashes), or None when it
    cannot be a code at all."""
    if not text or len(text) > 64:
        return None
    raw = _SEPARATORS.sub("", text).upper()
    if len(raw) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in raw):
        return None
    return _grouped(raw)


# --- Who may do what -----------------------------------------------------------------------------

def may_issue(user: User, trainee: User | None) -> bool:
    """A coach of the trainee, or a programme lead whose programmes include the trainee's."""
    role = getattr(user, "role", None)  # nobody signed in has none
    if trainee is None or trainee.role != "trainee":
        return False
    if role == "coach":
        return coaching.is_coach_of(user, trainee.id)
    return role == "admin" and lead_scope.reaches_person(user, trainee)


def may_read(user: User, letter: Letter) -> bool:
    """The trainee it was issued to, their coach and the programme leads who reach them."""
    if user.role == "trainee":
        return letter.trainee_id == user.id
    return may_issue(user, letter.trainee)


def may_revoke(user: User, letter: Letter) -> bool:
    """Whoever issued it (while they still may issue for the trainee), or a lead reaching them."""
    if user.role == "admin":
        return lead_scope.reaches_person(user, letter.trainee)
    return letter.issued_by_id == user.id and may_issue(user, letter.trainee)


# --- Reading -------------------------------------------------------------------------------------

def letters_citing(trainee_id: int, activity_ids: Iterable[int]) -> dict[int, list[Letter]]:
    """The trainee's letters still standing (not revoked), by each of ``activity_ids`` they
    recognise."""
    wanted = set(activity_ids)
    found: dict[int, list[Letter]] = {activity_id: [] for activity_id in wanted}
    for letter in reversed(letters_for(trainee_id)):  # oldest first
        if letter.revoked_at is not None:
            continue
        for activity in letter.content.get("activities", []):
            if activity.get("activity_id") in wanted:
                found[activity["activity_id"]].append(letter)
    return found


def letters_for(trainee_id: int) -> list[Letter]:
    """The trainee's letters, newest first (revoked ones too, marked by ``revoked_at``)."""
    return list(db.session.scalars(
        db.select(Letter).where(Letter.trainee_id == trainee_id)
        .order_by(Letter.issued_at.desc(), Letter.id.desc())))


def eligible_activities(trainee_id: int) -> list[Activity]:
    """The trainee's activities with at least one piece of written feedback given."""
    given = (db.select(ActivityFeedbackRequest.activity_id)
             .where(ActivityFeedbackRequest.status == "given"))
    return list(db.session.scalars(
        db.select(Activity).where(Activity.trainee_id == trainee_id, Activity.id.in_(given))
        .options(selectinload(Activity.elements), selectinload(Activity.feedback_requests))
        .order_by(Activity.started_on.desc(), Activity.id.desc())))


@dataclass(frozen=True)
class Verification:
    """All that the public verify page may say about a letter."""

    code: str
    trainee_name: str
    issuer_name: str
    issuer_role: str
    title: str
    issued_at: datetime
    revoked_at: datetime | None


def verify(text: str | None) -> Verification | None:
    """The letter whose code ``text`` is (after ``normalise_code``), or None.

    A text that cannot be a code is looked up too, as a code no letter has, so a "not found"
    costs the same query whatever was typed.
    """
    code = normalise_code(text) or "-" * (CODE_LENGTH + CODE_GROUPS - 1)
    row = db.session.execute(
        db.select(Letter.verification_code, User.name, Letter.issuer_name, Letter.issuer_role,
                  Letter.title, Letter.issued_at, Letter.revoked_at)
        .join(User, User.id == Letter.trainee_id)
        .where(Letter.verification_code == code)).first()
    if row is None:
        return None
    return Verification(*row)


# --- Issuing and revoking ------------------------------------------------------------------------

def _clean_text(text: str | None, *, field: str, limit: int) -> str:
    # A title is one line; a citation keeps its paragraphs.
    clean = " ".join((text or "").split()) if field == "title" else (text or "").strip()
    if not clean:
        raise DomainError(f"Enter a {field}", field=field)
    if len(clean) > limit:
        raise DomainError(f"The {field} must be {limit} characters or fewer", field=field)
    return clean


def check_letter(trainee: User, *, activity_ids: Iterable[int] | None, title: str | None,
                 citation: str | None) -> tuple[list[Activity], str, str]:
    """The chosen activities (in date order), title and citation, or every problem at once."""
    errors: list[DomainError] = []
    clean: dict[str, str] = {}
    for field, text, limit in (("title", title, TITLE_MAX_LENGTH),
                               ("citation", citation, CITATION_MAX_LENGTH)):
        try:
            clean[field] = _clean_text(text, field=field, limit=limit)
        except DomainError as error:
            errors.append(error)
    wanted = set(activity_ids or [])
    eligible = {activity.id: activity for activity in eligible_activities(trainee.id)}
    if not wanted:
        errors.append(DomainError("Select at least one activity", field="activity_ids"))
    elif not wanted <= set(eligible):
        errors.append(DomainError("Select activities from the list: each must have written "
                                  "feedback given", field="activity_ids"))
    DomainErrors.raise_any(errors)
    chosen = sorted((eligible[i] for i in wanted), key=lambda a: (a.started_on, a.id))
    return chosen, clean["title"], clean["citation"]


def _activity_content(activity: Activity) -> dict[str, object]:
    known = elements_by_key()

    def element(key: str) -> dict[str, str]:
        found = known.get(key)
        return {"key": key, "title": found.title if found else key,
                "domain": found.domain_title if found else ""}

    return {
        "activity_id": activity.id,  # which letters an evidence pack's activities carry
        "title": activity.title,
        "category": activity.category,
        "started_on": activity.started_on.isoformat(),
        "ended_on": activity.ended_on.isoformat() if activity.ended_on else None,
        "elements": [element(row.element_key) for row in activity.elements],
        "feedback": [{
            "observer_name": request.observer_name,
            "observer_role": request.observer_role or "",
            "given_on": request.given_at.date().isoformat() if request.given_at else None,
            "answers": [{**element(key), "text": text}
                        for key, text in (request.answers or {}).items() if text],
            "overall": request.overall or "",
        } for request in activity.feedback_requests if request.status == "given"],
    }


def issue(trainee: User, *, activity_ids: Iterable[int] | None, title: str | None,
          citation: str | None, by: User) -> Letter:
    """Issue a letter (flushes and audits; the caller commits)."""
    if not may_issue(by, trainee):
        raise DomainError("You cannot issue a letter for this trainee")
    chosen, clean_title, clean_citation = check_letter(
        trainee, activity_ids=activity_ids, title=title, citation=citation)
    now = utcnow()
    issuer_role = role_name(by.role)
    letter = Letter(
        trainee_id=trainee.id, issued_by_id=by.id, issuer_name=by.name, issuer_role=issuer_role,
        verification_code=_unused_code(), title=clean_title, issued_at=now,
        content={
            "trainee_name": trainee.name,
            "title": clean_title,
            "citation": clean_citation,
            "organisation": current_app.config["ORGANISATION_NAME"],
            "issuer_name": by.name,
            "issuer_role": issuer_role,
            "issued_on": now.date().isoformat(),
            "activities": [_activity_content(activity) for activity in chosen],
        })
    db.session.add(letter)
    db.session.flush()
    audit.record(by, "letter.issued", f"letter:{letter.id}", trainee=trainee.id,
                 activities=[activity.id for activity in chosen])
    return letter


def _unused_code() -> str:
    # 31**12 codes: a clash is astronomically rare, but a unique index refusing the insert
    # would still be a 500, so look first.
    while True:
        code = new_code()
        if db.session.scalar(db.select(Letter.id).where(Letter.verification_code == code)) is None:
            return code


def revoke(letter: Letter, *, by: User) -> None:
    """Mark the letter revoked (the verify page then says so); flushes and audits."""
    if not may_revoke(by, letter):
        raise DomainError("You cannot revoke this letter")
    if letter.revoked_at is not None:
        raise DomainError("This letter has already been revoked")
    letter.revoked_at = max(utcnow(), letter.issued_at)
    db.session.flush()
    audit.record(by, "letter.revoked", f"letter:{letter.id}", trainee=letter.trainee_id)


def record_download(letter: Letter, *, by: User) -> None:
    audit.record(by, "letter.downloaded", f"letter:{letter.id}", trainee=letter.trainee_id)
