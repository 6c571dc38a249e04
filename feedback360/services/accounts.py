"""Accounts: invitations, activation, sign-in, password resets and the first admin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app

from .. import audit, mail, tokens
from ..extensions import db
from ..models import ROLES, Cohort, Organisation, User
from ..passwords import WeakPassword, check_policy, hash_password, needs_rehash, verify_password
from ..role_names import role_name
from ..urls import absolute_url
from . import DomainError, lead_scope
from .sessions import end_sessions

LOGIN_FAILED = "Enter a correct email address and password"


def normalise_email(raw: str) -> str:
    """Validated and case-folded, so one person cannot hold two accounts by changing case."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError("Enter an email address in the correct format, like name@nhs.net",
                          field="email") from exc
    return result.normalized.lower()


def check_address_format(raw: str | None) -> None:
    """``normalise_email``'s refusal alone, for a form to show beside its own checks; an empty
    address is the form's to report."""
    if raw and raw.strip():
        normalise_email(raw)


def find_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == email.strip().lower()))


def invite_user(*, email: str, name: str, role: str, invited_by: User | None,
                cohort: Cohort | None = None, specialty: str | None = None,
                training_year: int | None = None, site: str | None = None,
                organisation: Organisation | None = None) -> User:
    if role not in ROLES:
        raise DomainError("Select a role", field="role")
    # A leadership champion acts for one organisation; nobody else belongs to one.
    if role == "champion" and organisation is None:
        raise DomainError("A leadership champion acts for an organisation: invite them from "
                          "Leadership champions", field="role")
    if role != "champion" and organisation is not None:
        raise DomainError("Only a leadership champion acts for an organisation",
                          field="organisation_id")
    lead_scope.check_account(invited_by, role=role, cohort=cohort)
    email = normalise_email(email)
    if find_by_email(email) is not None:
        raise DomainError("An account with this email address already exists", field="email")
    [user] = invite_checked([Invitee(email=email, name=name, role=role, cohort=cohort,
                                     specialty=specialty, training_year=training_year,
                                     site=site, organisation=organisation)],
                           invited_by=invited_by)
    return user


@dataclass(frozen=True)
class Invitee:
    """A new account's details, already checked: email normalised and not taken, role known."""

    email: str
    name: str
    role: str
    cohort: Cohort | None = None
    specialty: str | None = None
    training_year: int | None = None
    site: str | None = None
    organisation: Organisation | None = None


def invite_checked(invitees: list[Invitee], *, invited_by: User | None,
                   source: str | None = None) -> list[User]:
    """Create invited accounts in one flush and queue each one's activation email.

    For callers that have checked every invitee themselves (``invite_user``, the CSV import),
    so a large import does not pay a query and a flush per person. With a ``source`` (the
    import) each person's event also keeps the details they were created with.
    """
    users = [User(email=person.email, name=person.name.strip(), role=person.role, active=True,
                  session_nonce=secrets.token_hex(16), cohort=person.cohort,
                  specialty=person.specialty, training_year=person.training_year,
                  site=person.site,
                  organisation_id=person.organisation.id if person.organisation else None)
             for person in invitees]
    db.session.add_all(users)
    db.session.flush()
    for user in users:
        send_activation(user, invited_by)
        detail: dict[str, object] = {"role": user.role}
        if user.organisation_id is not None:
            detail["organisation_id"] = user.organisation_id
        if source is not None:
            detail.update(source=source, fields={
                "name": user.name, "cohort_id": user.cohort_id, "specialty": user.specialty,
                "training_year": user.training_year, "site": user.site})
        audit.record(invited_by, "user.invited", f"user:{user.id}", **detail)
    return users


def send_activation(user: User, sent_by: User | None) -> None:
    if user.password_hash is not None:
        raise DomainError("This account is already active")
    mail.queue(user.email, "Activate your feedback360 account", "activate_account",
               user=user, invited_by=sent_by, link=activation_link(user),
               days=activation_days())


def activation_link(user: User) -> str:
    """A fresh activation link for an account without a password (it dies once one is set)."""
    token = tokens.issue(tokens.ACCOUNT_ACTIVATION,
                         {"uid": user.id, "fp": tokens.password_fingerprint(None)})
    return absolute_url("auth.activate", token=token)


def activation_days() -> int:
    return current_app.config["ACTIVATION_TOKEN_MAX_AGE"] // 86400


def _user_from_token(salt: str, token: str, max_age: int) -> User:
    try:
        payload = tokens.read(salt, token, max_age=max_age)
    except tokens.TokenExpired as exc:
        raise DomainError("This link has expired") from exc
    except tokens.TokenInvalid as exc:
        raise DomainError("This link is not valid") from exc
    user = db.session.get(User, payload.get("uid")) if isinstance(payload, dict) else None
    if user is None or not user.active:
        raise DomainError("This link is not valid")
    if payload.get("fp") != tokens.password_fingerprint(user.password_hash):
        raise DomainError("This link has already been used")
    return user


def user_for_activation(token: str) -> User:
    return _user_from_token(tokens.ACCOUNT_ACTIVATION, token,
                            current_app.config["ACTIVATION_TOKEN_MAX_AGE"])


def user_for_reset(token: str) -> User:
    return _user_from_token(tokens.PASSWORD_RESET, token,
                            current_app.config["RESET_TOKEN_MAX_AGE"])


def set_password(user: User, password: str) -> None:
    """Apply the policy, store an argon2id hash and end every other session of this user."""
    try:
        check_policy(password, min_length=current_app.config["PASSWORD_MIN_LENGTH"],
                     max_length=current_app.config["PASSWORD_MAX_LENGTH"],
                     personal=(*user.name.split(), user.email.split("@")[0]))
    except WeakPassword as exc:
        raise DomainError(str(exc), field="password") from exc
    user.password_hash = hash_password(password)
    end_sessions(user)


def activate(token: str, password: str) -> User:
    user = user_for_activation(token)
    set_password(user, password)
    user.activated_at = datetime.now(UTC)
    audit.record(user, "user.activated", f"user:{user.id}")
    return user


def reset_password(token: str, password: str) -> User:
    user = user_for_reset(token)
    set_password(user, password)
    audit.record(user, "user.password_reset", f"user:{user.id}")
    return user


def change_password(user: User, current: str, new: str) -> None:
    """A signed-in user's own change: the current password first, then the policy; every
    session of theirs ends (the caller starts a fresh one for the browser that asked)."""
    if not verify_password(user.password_hash, current):
        raise DomainError("Enter your current password correctly", field="current_password")
    if new == current:
        raise DomainError("Choose a password different from your current one", field="password")
    set_password(user, new)
    audit.record(user, "user.password_changed", f"user:{user.id}")


def request_password_reset(email: str) -> None:
    """Email a reset link if the account exists; the caller always says the same thing."""
    user = find_by_email(email)
    if user is None or not user.active:
        return
    if user.password_hash is None:
        send_activation(user, None)
        return
    token = tokens.issue(tokens.PASSWORD_RESET,
                         {"uid": user.id, "fp": tokens.password_fingerprint(user.password_hash)})
    mail.queue(user.email, "Reset your feedback360 password", "reset_password", user=user,
               link=absolute_url("auth.reset_password", token=token),
               minutes=current_app.config["RESET_TOKEN_MAX_AGE"] // 60)
    audit.record(user, "user.password_reset_requested", f"user:{user.id}")


def authenticate(email: str, password: str) -> User:
    """The user whose password this is, or ``LOGIN_FAILED`` whatever the reason. Signing in is
    complete only with ``signed_in`` (after the second factor, where the user has one).

    Unknown, deactivated and never-activated accounts get the same message after the same
    password-hashing work as a wrong password (``verify_password``), so neither the answer nor
    its timing says which addresses have accounts.
    """
    user = find_by_email(email)
    password_ok = verify_password(user.password_hash if user is not None else None, password)
    if user is None or not password_ok or not user.is_active:
        audit.record(user, "login.failed", email.strip().lower()[:200])
        raise DomainError(LOGIN_FAILED)
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return user


def signed_in(user: User, *, second_factor: str | None = None) -> None:
    """The sign-in is complete: the password, and the second factor (``"totp"`` or
    ``"recovery"``) where the user has one. A correct password alone is no ``login`` event."""
    user.last_login_at = datetime.now(UTC)
    detail = {"second_factor": second_factor} if second_factor else {}
    audit.record(user, "login", f"user:{user.id}", **detail)


def create_admin(*, email: str, name: str, password: str) -> User:
    email = normalise_email(email)
    user = find_by_email(email)
    if user is None:
        user = User(email=email, name=name.strip(), role="admin", active=True,
                    session_nonce=secrets.token_hex(16), activated_at=datetime.now(UTC))
        db.session.add(user)
    elif user.role != "admin":
        raise DomainError(f"{email} already has a {role_name(user.role).lower()} account",
                          field="email")
    set_password(user, password)
    db.session.flush()
    audit.record(None, "user.admin_created", f"user:{user.id}")
    return user
