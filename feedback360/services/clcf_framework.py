"""The CLCF framework as the portfolio uses it: five domains of four elements, taken from the
``clcf`` instrument so activities, opportunities and written feedback name the same elements
the 360 scores.

Portfolio rows store element and domain keys (``ActivityElement``, ``OpportunityElement``);
this module turns keys into titles, checks that submitted keys exist, and builds grouped form
choices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import DomainError
from .cycles import available_instruments

FRAMEWORK_INSTRUMENT = "clcf"


@dataclass(frozen=True)
class FrameworkElement:
    key: str
    title: str
    domain_key: str
    domain_title: str


@dataclass(frozen=True)
class FrameworkDomain:
    key: str
    title: str
    description: str | None
    elements: tuple[FrameworkElement, ...]


def domains() -> tuple[FrameworkDomain, ...]:
    """The framework's domains in the instrument's order."""
    instrument = available_instruments()[FRAMEWORK_INSTRUMENT]
    return tuple(
        FrameworkDomain(domain.key, domain.title, domain.description, tuple(
            FrameworkElement(element.key, element.title, domain.key, domain.title)
            for element in domain.elements))
        for domain in instrument.domains)


def elements_by_key() -> dict[str, FrameworkElement]:
    return {element.key: element for domain in domains() for element in domain.elements}


def domain_titles() -> dict[str, str]:
    return {domain.key: domain.title for domain in domains()}


def element_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a WTForms ``SelectMultipleField`` or a checkbox list per domain."""
    return [(domain.title, [(element.key, element.title) for element in domain.elements])
            for domain in domains()]


def checked_elements(keys: Iterable[str], *, field: str = "elements",
                     required: bool = True) -> list[FrameworkElement]:
    """The framework elements for ``keys`` (duplicates dropped, framework order kept); a
    ``DomainError`` on ``field`` for an unknown key or, when ``required``, for none."""
    known = elements_by_key()
    wanted = set(keys)
    unknown = wanted - set(known)
    if unknown:
        raise DomainError("Select leadership elements from the list", field=field)
    if required and not wanted:
        raise DomainError("Select at least one leadership element", field=field)
    return [element for element in known.values() if element.key in wanted]
