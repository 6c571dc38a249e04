"""The report's data: frozen dataclasses of plain values, JSON through ``to_dict``/``from_dict``.

Also :func:`compare_cycles`, which needs nothing but two reports (e.g. two stored summaries).
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

SELF, ALL, POOLED = "self", "all", "pooled"
POOLED_LABEL = "Other colleagues"
LEVELS = ("domain", "element", "item")
FORMAT = 1  # bump when the shape of CycleReport.to_dict() changes


@dataclass(frozen=True)
class AnonymityRules:
    min_group: int = 3  # k: ANONYMITY_MIN_GROUP
    min_total: int = 5  # ANONYMITY_MIN_TOTAL
    blind_spot_threshold: float = 1.0  # points on the scale between self and others

    def __post_init__(self) -> None:
        if self.min_group < 1 or self.min_total < 1:
            raise ValueError("min_group and min_total must be at least 1")
        if not self.blind_spot_threshold > 0:
            raise ValueError("blind_spot_threshold must be positive")

    @property
    def needed(self) -> int:
        """Responses All raters needs before any colleague's score is shown."""
        return max(self.min_total, self.min_group)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AnonymityRules:
        return cls(int(config.get("ANONYMITY_MIN_GROUP", 3)),
                   int(config.get("ANONYMITY_MIN_TOTAL", 5)),
                   float(config.get("BLIND_SPOT_THRESHOLD", 1.0)))


@dataclass(frozen=True)
class Column:
    """One column of the report: self, all raters, a reported group or the pool."""

    key: str  # "self", "all", a rater group key, or "pooled"
    label: str
    kind: str  # "self" | "all" | "group" | "pool"
    n: int  # counting responses in it
    identifiable: bool  # shown as known people's answers (self, anonymous: false), never suppressed
    members: tuple[str, ...]  # the rater group keys it covers


@dataclass(frozen=True)
class Cell:
    n: int  # responses with at least one rating here ("not observed" only lowers it)
    mean: float | None = None
    sd: float | None = None  # ddof=1; None for n < 2
    ci_low: float | None = None  # 95% t interval, clipped to the scale; None for n < 2
    ci_high: float | None = None
    suppressed: bool = False  # hidden for anonymity (n is still given)

    @property
    def shown(self) -> bool:
        return self.mean is not None


@dataclass(frozen=True)
class Row:
    level: str  # "domain" | "element" | "item"
    key: str
    title: str  # an item's text
    parent: str | None  # an item's element, an element's domain
    cells: dict[str, Cell]  # by column key, in column order


@dataclass(frozen=True)
class Gap:
    level: str
    key: str
    title: str
    self_mean: float | None
    others_mean: float | None  # all raters
    gap: float | None  # self minus others


@dataclass(frozen=True)
class ItemScore:
    key: str
    title: str
    domain: str
    element: str
    mean: float
    n: int


@dataclass(frozen=True)
class Distribution:
    item: str
    counts: dict[int, int]  # scale point -> all raters choosing it
    not_observed: int


@dataclass(frozen=True)
class Validity:
    responses: int
    senior: int
    min_responses: int
    min_senior: int
    min_rated_fraction: float
    dropped: int
    met: bool
    message: str


@dataclass(frozen=True)
class Change:
    level: str  # "domain" | "item"
    key: str
    title: str
    previous_self: float | None
    current_self: float | None
    self_change: float | None
    previous_all: float | None
    current_all: float | None
    all_change: float | None


@dataclass(frozen=True)
class CycleReport:
    instrument_key: str
    instrument_version: int
    scale_min: int
    scale_max: int
    rules: AnonymityRules
    enough: bool  # All raters reached rules.needed; if not, only self is scored
    message: str
    dropped_responses: int
    validity: Validity
    columns: tuple[Column, ...]
    counts: dict[str, int]  # n per reported column
    group_counts: dict[str, int]  # counting responses per instrument rater group (DESIGN rule 6)
    domains: tuple[Row, ...]
    elements: tuple[Row, ...]
    items: tuple[Row, ...]
    gaps: tuple[Gap, ...]
    blind_spots: tuple[Gap, ...]
    hidden_strengths: tuple[Gap, ...]
    top_items: tuple[ItemScore, ...]
    bottom_items: tuple[ItemScore, ...]
    distributions: tuple[Distribution, ...]
    notes: tuple[str, ...]

    def table(self, level: str) -> tuple[Row, ...]:
        return {"domain": self.domains, "element": self.elements, "item": self.items}[level]

    def row(self, level: str, key: str) -> Row:
        """The row for this domain, element or item key; KeyError if there is none."""
        for row in self.table(level):
            if row.key == key:
                return row
        raise KeyError(f"no {level} {key!r} in this report")

    def column(self, key: str) -> Column | None:
        return next((column for column in self.columns if column.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **_plain(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CycleReport:
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported report format {data.get('format')!r}")
        return _load(cls, data)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    # get_type_hints evaluates every annotation string again on each call: cached, loading a
    # stored summary takes 7 ms instead of 38 (bench/README.md, "dashboard").
    return get_type_hints(kind)


def _load(kind: Any, data: Any) -> Any:
    origin, args = get_origin(kind), get_args(kind)
    if dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{f.name: _load(hints[f.name], data[f.name])
                       for f in dataclasses.fields(kind)})
    if origin in (Union, types.UnionType):
        return None if data is None else _load(next(a for a in args if a is not type(None)), data)
    if origin is tuple:
        return tuple(_load(args[0], v) for v in data)
    if origin is dict:
        return {_load(args[0], k): _load(args[1], v) for k, v in data.items()}
    return kind(data)


def compare_cycles(previous: CycleReport, current: CycleReport) -> list[Change]:
    """Change since ``previous`` for self and all raters: domains, then items, matched by key
    (keys in only one of the two are skipped); a change is None where either score is hidden."""
    changes = []
    for level in ("domain", "item"):
        before = {row.key: row for row in previous.table(level)}
        for row in current.table(level):
            if row.key not in before:
                continue
            values = [_mean(r, c) for c in (SELF, ALL) for r in (before[row.key], row)]
            (ps, cs), (pa, ca) = values[:2], values[2:]
            changes.append(Change(level, row.key, row.title, ps, cs, _minus(cs, ps),
                                  pa, ca, _minus(ca, pa)))
    return changes


def _mean(row: Row, column: str) -> float | None:
    cell = row.cells.get(column)
    return cell.mean if cell is not None else None


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
