"""Which addresses a trainee may nominate: valid, not their own, not already on the cycle (in any
form), and in the domains raters may have (``RATER_EMAIL_DOMAINS``).

A trainee who could add themself under ``name+tag@`` or a webmail address, or one colleague
twice, could answer those links and solve a real colleague's scores from a small group's mean;
so every comparison is on ``email_identity.canonical``.
"""

from __future__ import annotations

from flask import current_app

from ..email_identity import DomainRule, InvalidAddress, allowed, canonical, describe_rules
from ..models import FeedbackCycle
from . import DomainError
from .accounts import normalise_email


def allowed_domains() -> tuple[DomainRule, ...]:
    return current_app.config["RATER_EMAIL_DOMAINS"]


def describe_allowed_domains() -> str | None:
    """``@nhs.net or an address ending .nhs.uk``; None when any domain will do."""
    rules = allowed_domains()
    return describe_rules(rules) if rules else None


def check_address(cycle: FeedbackCycle, raw: str,
                  taken: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """``(address to mail, canonical identity)`` for a nominee, or a ``DomainError`` saying why not.

    ``taken`` maps the identities already on the list to the address as typed and where it is
    (``""``, or ``" on line 3"`` of a pasted list)."""
    email = normalise_email(raw)
    identity = canonical(email)
    if identity == _own_identity(cycle):
        raise DomainError("You cannot nominate yourself: your own view is the self-assessment",
                          field="email")
    if identity in taken:
        earlier, where = taken[identity]
        raise DomainError(f"{email} is already nominated{where}" if earlier == email else
                          f"{email} is the same address as {earlier}, already nominated{where}",
                          field="email")
    rules = allowed_domains()
    if not allowed(identity, rules):
        raise DomainError(f"{email} cannot be used: colleagues must be asked at their work "
                          f"address, {describe_rules(rules)}", field="email")
    return email, identity


def _own_identity(cycle: FeedbackCycle) -> str | None:
    try:
        return canonical(cycle.trainee.email)
    except InvalidAddress:  # an account made before addresses were validated: compare as is
        return cycle.trainee.email
