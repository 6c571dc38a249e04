"""The FMLM Leadership Commitment's criteria, read from ``data/leadership_commitment.yaml``.

Validated strictly on load (unknown or missing fields, duplicate keys anywhere, a theme the
models do not know, a theme without an essential criterion): a typo in the pledge must stop the
app starting rather than drop a criterion from an organisation's tracker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..instruments.loader import _StrictLoader
from ..models import COMMITMENT_THEMES

CRITERIA_FILE = Path(__file__).resolve().parent.parent / "data" / "leadership_commitment.yaml"
LEVELS = ("essential", "desirable")
_KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TOP = {"version", "themes", "criteria"}
_THEME_FIELDS = {"key", "title", "summary"}
_CRITERION_FIELDS = {"key", "theme", "level", "title", "text"}
TITLE_MAX_LENGTH = 80


class CriteriaError(ValueError):
    """The criteria file is not as this module expects."""


@dataclass(frozen=True)
class Theme:
    key: str
    title: str
    summary: str


@dataclass(frozen=True)
class Criterion:
    key: str
    theme: str
    level: str
    title: str
    text: str


@dataclass(frozen=True)
class Commitment:
    version: str
    themes: tuple[Theme, ...]
    criteria: tuple[Criterion, ...]

    def by_key(self) -> dict[str, Criterion]:
        return {criterion.key: criterion for criterion in self.criteria}

    def of_theme(self, theme: str) -> tuple[Criterion, ...]:
        """The theme's criteria, essential ones first, each level in the file's order."""
        return tuple(sorted((c for c in self.criteria if c.theme == theme),
                            key=lambda c: LEVELS.index(c.level)))


def _fail(where: str, problem: str) -> CriteriaError:
    return CriteriaError(f"{CRITERIA_FILE.name}: {where}: {problem}")


def _text(entry: dict[str, Any], field: str, where: str) -> str:
    value = entry[field]
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{field} must be non-empty text")
    return " ".join(value.split())


def _fields(entry: Any, expected: set[str], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise _fail(where, "must be a mapping")
    if set(entry) != expected:
        missing, extra = sorted(expected - set(entry)), sorted(set(entry) - expected)
        raise _fail(where, f"fields must be {sorted(expected)} (missing {missing}, "
                           f"unknown {extra})")
    return entry


def parse_commitment(data: Any) -> Commitment:
    top = _fields(data, _TOP, "top level")
    if not isinstance(top["themes"], list) or not isinstance(top["criteria"], list):
        raise _fail("top level", "themes and criteria must be lists")
    themes = []
    for number, raw in enumerate(top["themes"], start=1):
        entry = _fields(raw, _THEME_FIELDS, f"theme {number}")
        themes.append(Theme(entry["key"], _text(entry, "title", f"theme {number}"),
                            _text(entry, "summary", f"theme {number}")))
    if tuple(theme.key for theme in themes) != COMMITMENT_THEMES:
        raise _fail("themes", f"must be exactly {list(COMMITMENT_THEMES)} in that order")
    criteria: list[Criterion] = []
    seen: set[str] = set()
    for number, raw in enumerate(top["criteria"], start=1):
        where = f"criterion {number}"
        entry = _fields(raw, _CRITERION_FIELDS, where)
        key = entry["key"]
        if not isinstance(key, str) or not _KEY.fullmatch(key) or len(key) > 64:
            raise _fail(where, f"key {key!r} must be lower-case words joined by hyphens")
        if key in seen:
            raise _fail(where, f"duplicate key {key!r}")
        if entry["theme"] not in COMMITMENT_THEMES:
            raise _fail(where, f"theme {entry['theme']!r} is not one of {list(COMMITMENT_THEMES)}")
        if entry["level"] not in LEVELS:
            raise _fail(where, f"level {entry['level']!r} must be essential or desirable")
        title = _text(entry, "title", where)
        if len(title) > TITLE_MAX_LENGTH:
            raise _fail(where, f"title must be {TITLE_MAX_LENGTH} characters or fewer")
        seen.add(key)
        criteria.append(Criterion(key, entry["theme"], entry["level"], title,
                                  _text(entry, "text", where)))
    for theme in COMMITMENT_THEMES:
        if not any(c.theme == theme and c.level == "essential" for c in criteria):
            raise _fail("criteria", f"theme {theme!r} has no essential criterion")
    return Commitment(str(top["version"]), tuple(themes), tuple(criteria))


@cache
def load_commitment(path: Path = CRITERIA_FILE) -> Commitment:
    """The commitment's criteria, read and validated once per process."""
    with open(path, encoding="utf-8") as handle:
        return parse_commitment(yaml.load(handle, Loader=_StrictLoader))  # noqa: S506 (safe loader)
