"""The catalogue's first entries: ``feedback360/data/leadership_opportunities.yaml`` (every
example of the FMLM Leadership Commitment's appendix and the other opportunities it names), read,
validated and seeded into the database by ``flask seed-opportunities``.

Seeding inserts the keys that are missing and leaves every existing row alone: a lead may have
reworded, closed or re-tagged a seeded entry, and a re-seed (``seed-demo`` runs it each time) must
not undo that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .. import audit
from ..extensions import db
from ..models import OPPORTUNITY_KINDS, LeadershipOpportunity, OpportunityElement, User
from . import clcf_framework

OPPORTUNITIES_FILE = Path(__file__).resolve().parent.parent / "data" / \
    "leadership_opportunities.yaml"
_KEY = re.compile(r"[a-z0-9-]+")
_REQUIRED = {"key", "title", "kind", "description", "how_to_join", "elements"}
_OPTIONAL = {"appendix"}
KEY_MAX_LENGTH = 64
TITLE_MAX_LENGTH = 200


@dataclass(frozen=True)
class SeedEntry:
    key: str
    title: str
    kind: str
    description: str
    how_to_join: str
    elements: tuple[str, ...]  # CLCF element keys, the one it develops most first
    appendix: str | None  # the FMLM appendix's bullet this entry comes from, word for word


class OpportunitiesError(ValueError):
    """The opportunities file is not in the expected shape; names the file and the entry."""


def _fail(where: str, problem: str) -> OpportunitiesError:
    return OpportunitiesError(f"{OPPORTUNITIES_FILE.name}: {where}: {problem}")


def _text(entry: dict[str, Any], name: str, where: str) -> str:
    value = entry[name]
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{name} must be non-empty text")
    return " ".join(value.split())


def _entry(index: int, entry: Any, seen: set[str]) -> SeedEntry:
    where = f"opportunities[{index}]"
    if not isinstance(entry, dict) or not _REQUIRED <= set(entry) <= _REQUIRED | _OPTIONAL:
        raise _fail(where, "must have 'key', 'title', 'kind', 'description', 'how_to_join' and "
                           "'elements' (and may have 'appendix')")
    key = entry["key"]
    if not isinstance(key, str) or not _KEY.fullmatch(key) or len(key) > KEY_MAX_LENGTH:
        raise _fail(where, f"key {key!r} must be lower-case letters, digits and hyphens "
                           f"({KEY_MAX_LENGTH} at most)")
    if key in seen:
        raise _fail(where, f"duplicate key {key!r}")
    where = f"{where} ({key})"
    title = _text(entry, "title", where)
    if len(title) > TITLE_MAX_LENGTH:
        raise _fail(where, f"title must be {TITLE_MAX_LENGTH} characters or fewer")
    if entry["kind"] not in OPPORTUNITY_KINDS:
        raise _fail(where, f"kind {entry['kind']!r} must be one of {', '.join(OPPORTUNITY_KINDS)}")
    elements = entry["elements"]
    known = clcf_framework.elements_by_key()
    if not isinstance(elements, list) or not elements or not all(
            isinstance(e, str) for e in elements) or len(set(elements)) != len(elements):
        raise _fail(where, "elements must be a non-empty list of distinct CLCF element keys")
    unknown = [e for e in elements if e not in known]
    if unknown:
        raise _fail(where, f"unknown CLCF element {unknown[0]!r}")
    appendix = _text(entry, "appendix", where) if "appendix" in entry else None
    seen.add(key)
    return SeedEntry(key, title, entry["kind"], _text(entry, "description", where),
                     _text(entry, "how_to_join", where), tuple(elements), appendix)


def parse_opportunities(data: Any) -> tuple[SeedEntry, ...]:
    """Validate the YAML's shape: ``opportunities: [{key, title, kind, description, how_to_join,
    elements: [element key, ...], appendix?}, ...]``."""
    if not isinstance(data, dict) or set(data) != {"opportunities"}:
        raise _fail("top level", "must be a mapping with only 'opportunities'")
    entries = data["opportunities"]
    if not isinstance(entries, list) or not entries:
        raise _fail("opportunities", "must be a non-empty list")
    seen: set[str] = set()
    return tuple(_entry(index, entry, seen) for index, entry in enumerate(entries))


@cache
def load_opportunities(path: Path = OPPORTUNITIES_FILE) -> tuple[SeedEntry, ...]:
    """The seed entries, read and validated once per process."""
    with open(path, encoding="utf-8") as handle:
        return parse_opportunities(yaml.safe_load(handle))


def seed(by: User | None = None) -> list[str]:
    """Insert the entries whose key is not in the catalogue yet (open, ready to browse); return
    their keys. Existing rows, edited or not, are left as they are."""
    present = set(db.session.scalars(db.select(LeadershipOpportunity.key)
                                     .where(LeadershipOpportunity.key.is_not(None))))
    known = clcf_framework.elements_by_key()
    added = []
    for entry in load_opportunities():
        if entry.key in present:
            continue
        opportunity = LeadershipOpportunity(
            key=entry.key, title=entry.title, kind=entry.kind, description=entry.description,
            how_to_join=entry.how_to_join, status="open",
            elements=[OpportunityElement(element_key=key, domain_key=known[key].domain_key)
                      for key in entry.elements])
        db.session.add(opportunity)
        added.append(entry.key)
    db.session.flush()
    if added:
        audit.record(by, "opportunity.seeded", "opportunities", added=len(added))
    return added
