"""Who a trainee may nominate: a name, a rater group of the questionnaire, and an address that is
valid, not their own, not already on the cycle (in any form), and in the domains raters may have
(``RATER_EMAIL_DOMAINS``); every problem with a nominee is reported at once.

A trainee who could add themself under ``name+tag@`` or a webmail address, or one colleague
twice, could answer those links and solve a real colleague's scores from a small group's mean;
so every comparison is on ``email_identity.canonical``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..email_identity import DomainRule, InvalidAddress, allowed, canonical, describe_rules
from ..instruments import Instrument
from ..models import FeedbackCycle
from . import DomainError, DomainErrors
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


@dataclass(frozen=True)
class Nomination:
    name: str
    email: str
    identity: str  # email_identity.canonical(email)
    group: str


def check_nomination(cycle: FeedbackCycle, instrument: Instrument, name: str | None,
                     email: str | None, group: str | None,
                     taken: dict[str, tuple[str, str]]) -> Nomination:
    """One nominee, validated, every problem at once (``DomainErrors``); ``taken`` maps the
    identities already nominated to how the trainee would recognise them
    (``nominee_addresses.check_address``)."""
    problems: list[DomainError] = []
    name = " ".join((name or "").split())
    if not name:
        problems.append(DomainError("Enter the colleague's name", field="name"))
    elif len(name) > 120:
        problems.append(DomainError("Name must be 120 characters or fewer", field="name"))
    address: tuple[str, str] | None = None
    if not (email or "").strip():
        problems.append(DomainError("Enter the colleague's email address", field="email"))
    else:
        try:
            address = check_address(cycle, email or "", taken)
        except DomainError as error:
            problems.append(error)
    group_key = _match_group(instrument, group or "")
    if group_key is None:
        names = ", ".join(g.label for g in instrument.rater_groups)
        problems.append(DomainError(f"Unknown group '{group or ''}'. Use one of: {names}",
                                    field="group"))
    DomainErrors.raise_any(problems)
    assert address is not None and group_key is not None  # no problems, so both are set
    return Nomination(name=name, email=address[0], identity=address[1], group=group_key)


def _match_group(instrument: Instrument, text: str) -> str | None:
    wanted = text.strip().casefold()
    for group in instrument.rater_groups:
        if wanted in (group.key.casefold(), group.label.casefold()):
            return group.key
    return None
