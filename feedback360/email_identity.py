"""Who an email address reaches, whatever form it is typed in; and which domains raters may use.

Many addresses reach one mailbox: ``Sam.Patel@NHS.net``, ``sam.patel+360@nhs.net``, and at
Gmail ``s.a.m.patel@googlemail.com``. A trainee who could nominate the same person (or
themself) twice under different forms could answer several links and, from the group's
averages, solve a real colleague's scores. So every comparison between addresses is made on
``canonical()``, never on the text as typed.

Pure functions of their arguments (no app, no database), so ``config`` can use them at start-up.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

# Providers that deliver ``s.am@`` to ``sam@``; for them dots say nothing about the mailbox.
DOTLESS_PROVIDERS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
# A sub-address (``local+tag@``) is delivered to ``local@`` by NHSmail, Gmail, Outlook and most
# others; no organisation we send to gives ``+`` mailboxes of their own to different people.
TAG_SEPARATOR = "+"


class InvalidAddress(ValueError):
    """Not an email address (the caller words the message for its page)."""


def canonical(address: str) -> str:
    """The one form every spelling of a mailbox shares: case-folded, ``+tag`` removed, the
    domain in its IDNA ASCII form, and dots removed where the provider ignores them."""
    try:
        parsed = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error)) from error
    domain = parsed.ascii_domain.lower()
    local = unicodedata.normalize("NFKC", parsed.local_part).casefold()
    local = local.split(TAG_SEPARATOR, 1)[0] or local
    if domain in DOTLESS_PROVIDERS:
        domain = DOTLESS_PROVIDERS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def domain_of(canonical_address: str) -> str:
    return canonical_address.rsplit("@", 1)[1]


# --- Allowed rater domains ---------------------------------------------------------------------

@dataclass(frozen=True)
class DomainRule:
    """``nhs.net`` (that domain only) or ``*.nhs.uk`` (any subdomain of it, not ``nhs.uk``)."""

    domain: str
    subdomains: bool

    def matches(self, domain: str) -> bool:
        if self.subdomains:
            return domain.endswith(f".{self.domain}")
        return domain == self.domain

    def describe(self) -> str:
        return f"an address ending .{self.domain}" if self.subdomains else f"@{self.domain}"

    def __str__(self) -> str:
        return f"*.{self.domain}" if self.subdomains else self.domain


def parse_domain_rules(patterns: str | Iterable[str | DomainRule]) -> tuple[DomainRule, ...]:
    """``"nhs.net, *.nhs.uk"`` (or a list of patterns) as rules; empty means any domain.

    Raises ``ValueError`` naming the bad pattern: a mistyped list must stop the app starting
    rather than let every domain through, or none."""
    if isinstance(patterns, str):
        patterns = patterns.split(",")
    rules = []
    for raw in patterns:
        if isinstance(raw, DomainRule):
            rules.append(raw)
            continue
        pattern = raw.strip().lower()
        if not pattern:
            continue
        subdomains = pattern.startswith("*.")
        base = pattern[2:] if subdomains else pattern
        try:
            # The same IDNA rules as the addresses it will be compared with.
            ascii_base = validate_email(f"x@{base}", check_deliverability=False).ascii_domain
        except EmailNotValidError:
            ascii_base = ""
        if "*" in base or ascii_base.count(".") < 1:
            raise ValueError(
                f"'{raw.strip()}' is not a domain pattern. Write a domain like nhs.net, or "
                f"*.nhs.uk for every subdomain of one (a domain has at least two parts, so "
                f"*.uk or * alone is refused: leave the setting empty to allow any domain)")
        rules.append(DomainRule(ascii_base.lower(), subdomains))
    return tuple(dict.fromkeys(rules))


def allowed(canonical_address: str, rules: tuple[DomainRule, ...]) -> bool:
    return not rules or any(rule.matches(domain_of(canonical_address)) for rule in rules)


def describe_rules(rules: tuple[DomainRule, ...]) -> str:
    """``@nhs.net or an address ending .nhs.uk``, for messages and hints."""
    texts = [rule.describe() for rule in rules]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"
