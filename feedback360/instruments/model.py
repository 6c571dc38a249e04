"""Instrument definitions as frozen dataclasses, and the fingerprint of their content."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

KEY_PATTERN = re.compile(r"[a-z0-9-]+")
KEY_MAX_LENGTH = 64  # the database's key columns
TITLE_MAX_LENGTH = 200
SCORE_LIMITS = (0, 10)  # the database's check constraint on Answer.score
SENIOR_WORDS = "consultants, senior scientists or supervisors"
# A definition field that is left out when empty, so definitions stored before it existed keep
# their content and sha256.
_OMIT_EMPTY = {"omit_none": True}


class InstrumentError(Exception):
    """A problem with an instrument definition: ``<source>: <path>: <problem>``."""

    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source, self.path, self.problem = source, path, problem
        super().__init__(": ".join(part for part in (source, path, problem) if part))


class InstrumentVersionConflict(InstrumentError):
    """The file's content differs from the stored snapshot with the same key and version."""


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    labels: dict[int, str]
    not_observed: str
    # The same choice offered to the trainee about themself ("not observed" makes no sense there).
    self_not_observed: str | None = field(default=None, metadata=_OMIT_EMPTY)

    @property
    def points(self) -> tuple[int, ...]:
        return tuple(range(self.min, self.max + 1))

    def __hash__(self) -> int:  # labels is a dict; hashing keeps Instruments usable as cache keys
        return hash((self.min, self.max, tuple(self.labels.items()), self.not_observed,
                     self.self_not_observed))


@dataclass(frozen=True)
class RaterGroup:
    key: str
    label: str
    anonymous: bool = True
    senior: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Item:
    key: str
    text: str  # about the trainee, as colleagues read it ("Asks colleagues for feedback...")
    self_text: str | None = field(default=None, metadata=_OMIT_EMPTY)  # "I ask colleagues..."


@dataclass(frozen=True)
class Element:
    key: str
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Domain:
    key: str
    title: str
    elements: tuple[Element, ...]
    description: str | None = None
    self_description: str | None = field(default=None, metadata=_OMIT_EMPTY)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for element in self.elements for item in element.items)


@dataclass(frozen=True)
class CommentPrompt:
    key: str
    prompt: str
    hint: str | None = None


@dataclass(frozen=True)
class ValidityRule:
    """When a cycle has enough responses for its report to be meaningful."""

    min_responses: int
    min_senior: int
    min_rated_fraction: float

    def describe(self, senior_words: str = SENIOR_WORDS) -> str:
        n = self.min_responses
        text = f"At least {n} {'colleague' if n == 1 else 'colleagues'} must respond"
        if self.min_senior:
            s = self.min_senior
            text += (f", including at least {s} senior {'colleague' if s == 1 else 'colleagues'}"
                     f" ({senior_words})")
        fraction = {1.0: "all", 0.75: "at least three quarters", 0.5: "at least half",
                    0.25: "at least a quarter"}.get(self.min_rated_fraction,
                                                    f"at least {self.min_rated_fraction:.0%}")
        return f"{text}. A response counts only if {fraction} of its statements are rated."


@dataclass(frozen=True)
class Instrument:
    key: str
    version: int
    title: str
    description: str | None
    scale: Scale
    rater_groups: tuple[RaterGroup, ...]
    domains: tuple[Domain, ...]
    comments: tuple[CommentPrompt, ...]
    validity: ValidityRule
    sha256: str = field(default="", metadata={"definition": False})
    # Where it came from (a file path, or a database row): for messages only, not part of equality.
    source: str = field(default="", compare=False, metadata={"definition": False})
    # "rater", or "self" for the copy the self-assessment shows (``for_self``).
    perspective: str = field(default="rater", metadata={"definition": False})

    @property
    def elements(self) -> tuple[Element, ...]:
        return tuple(element for domain in self.domains for element in domain.elements)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for domain in self.domains for item in domain.items)

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)

    @property
    def group_keys(self) -> tuple[str, ...]:
        return tuple(group.key for group in self.rater_groups)

    @property
    def senior_group_keys(self) -> tuple[str, ...]:
        return tuple(group.key for group in self.rater_groups if group.senior)

    @cached_property
    def _item_index(self) -> dict[str, tuple[Domain, Element, Item]]:
        return {item.key: (domain, element, item)
                for domain in self.domains for element in domain.elements for item in element.items}

    def item(self, key: str) -> Item:
        """The item with this key; KeyError if there is none."""
        return self._item_index[key][2]

    def domain_of_item(self, item_key: str) -> Domain:
        return self._item_index[item_key][0]

    def element_of_item(self, item_key: str) -> Element:
        return self._item_index[item_key][1]

    def group(self, key: str) -> RaterGroup:
        """The rater group with this key; KeyError if there is none (likewise ``domain``)."""
        return {group.key: group for group in self.rater_groups}[key]

    def domain(self, key: str) -> Domain:
        return {domain.key: domain for domain in self.domains}[key]

    @cached_property
    def for_self(self) -> Instrument:
        """The copy the trainee answers about themself: each statement, domain description and
        the "not observed" choice in the first person where the definition words them so
        (snapshots stored before it did fall back to the colleagues' wording). Keys, scale
        points and everything scored are the same, so answers are stored and scored alike."""
        if self.perspective == "self":
            return self
        domains = tuple(dataclasses.replace(
            domain, description=domain.self_description or domain.description,
            elements=tuple(dataclasses.replace(element, items=tuple(
                dataclasses.replace(item, text=item.self_text or item.text)
                for item in element.items)) for element in domain.elements))
            for domain in self.domains)
        scale = dataclasses.replace(
            self.scale, not_observed=self.scale.self_not_observed or self.scale.not_observed)
        return dataclasses.replace(self, domains=domains, scale=scale, perspective="self")

    def to_definition(self) -> dict[str, Any]:
        """The full definition as plain JSON values (label keys become strings)."""
        return _plain(self)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("definition", True)
                and not (f.metadata.get("omit_none") and getattr(value, f.name) is None)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    return value


def definition_sha256(definition: dict[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

