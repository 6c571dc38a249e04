"""Instruments: YAML definitions in ``instruments/`` loaded into frozen dataclasses (DESIGN.md).

Every problem raises :class:`InstrumentError` naming the file and the path inside it, e.g.
``clcf.yaml: domains[2].elements[1].items[0]: missing 'text'``. The YAML keys are the dataclass
field names, so :meth:`Instrument.to_definition` gives back the same shape with every default
filled in; ``sha256`` is taken over a canonical JSON dump of it, so comments and layout never change
it but any change of content does. :func:`snapshot` freezes an instrument into the database the
first time a cycle uses it; Flask and the database are imported only inside it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import yaml
from yaml.constructor import ConstructorError

if TYPE_CHECKING:
    from .models import InstrumentVersion

KEY_PATTERN = re.compile(r"[a-z0-9-]+")
KEY_MAX_LENGTH = 64  # the database's key columns
TITLE_MAX_LENGTH = 200
SCORE_LIMITS = (0, 10)  # the database's check constraint on Answer.score
SENIOR_WORDS = "consultants, senior scientists or supervisors"


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

    @property
    def points(self) -> tuple[int, ...]:
        return tuple(range(self.min, self.max + 1))

    def __hash__(self) -> int:  # labels is a dict; hashing keeps Instruments usable as cache keys
        return hash((self.min, self.max, tuple(self.labels.items()), self.not_observed))


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
    text: str


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

    def to_definition(self) -> dict[str, Any]:
        """The full definition as plain JSON values (label keys become strings)."""
        return _plain(self)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("definition", True)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    return value


def definition_sha256(definition: dict[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- reading and validating ---------------------------------------------------------------------

# What each mapping may hold; the YAML keys are the dataclass field names. A class is a nested
# mapping, ``(Class,)`` a non-empty list of them, ``[Class]`` a list that may be empty. A field is
# required unless its dataclass field has a default or its kind is optional.
_SCHEMA: dict[type, dict[str, Any]] = {
    Scale: {"min": "int", "max": "int", "labels": "labels", "not_observed": "text"},
    RaterGroup: {"key": "key", "label": "text", "anonymous": "bool", "senior": "bool",
                 "description": "optional text"},
    Item: {"key": "key", "text": "text"},
    Element: {"key": "key", "title": "text", "items": (Item,)},
    Domain: {"key": "key", "title": "text", "description": "optional text",
             "elements": (Element,)},
    CommentPrompt: {"key": "key", "prompt": "text", "hint": "optional text"},
    ValidityRule: {"min_responses": "int", "min_senior": "int", "min_rated_fraction": "number"},
    Instrument: {"key": "key", "version": "int", "title": "text", "description": "optional text",
                 "scale": Scale, "rater_groups": (RaterGroup,), "domains": (Domain,),
                 "comments": [CommentPrompt], "validity": ValidityRule},
}
# Keys that must be unique across the whole instrument, with what to call them in messages.
_UNIQUE = {RaterGroup: "rater group", Domain: "domain", Element: "element", Item: "item",
           CommentPrompt: "comment"}


def _describe(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "nothing", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return {list: "a list", dict: "a mapping"}.get(type(value), f"a {type(value).__name__}")


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Reader:
    """Walks one source's data; every failure names the source and the path inside it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.seen: dict[tuple[type, str], str] = {}  # (class, key) -> path of its first use

    def fail(self, path: str, problem: str) -> NoReturn:
        raise InstrumentError(self.source, path, problem)

    def build(self, cls: type, node: Any, path: str) -> Any:
        spec = _SCHEMA[cls]
        if not isinstance(node, dict):
            self.fail(path, f"expected a mapping of keys to values, got {_describe(node)}")
        for name in node:
            if name not in spec:
                self.fail(path, f"unknown key {name!r} (expected one of: {', '.join(spec)})")
        defaults = {f.name: f.default for f in dataclasses.fields(cls)
                    if f.default is not dataclasses.MISSING}
        values = {}
        for name, kind in spec.items():
            if name in node:
                values[name] = self.value(kind, node[name], _at(path, name))
            elif name in defaults or kind == "optional text":
                values[name] = defaults.get(name)
            elif isinstance(kind, list):
                values[name] = ()
            else:
                self.fail(path, f"missing {name!r}")
        built = cls(**values)
        if cls in _UNIQUE:
            first = self.seen.setdefault((cls, built.key), path)
            if first != path:
                self.fail(_at(path, "key"), f"duplicate {_UNIQUE[cls]} key {built.key!r} "
                                            f"(first used at {first})")
        return built

    def value(self, kind: Any, value: Any, path: str) -> Any:
        if isinstance(kind, type):
            return self.build(kind, value, path)
        if isinstance(kind, tuple | list):
            if not isinstance(value, list):
                self.fail(path, f"must be a list, got {_describe(value)}")
            if isinstance(kind, tuple) and not value:
                self.fail(path, "must not be empty")
            return tuple(self.build(kind[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if kind in ("text", "key", "optional text"):
            if value is None or (isinstance(value, str) and not value.strip()):
                if kind == "optional text":
                    return None
                self.fail(path, "must not be empty")
            if not isinstance(value, str):
                self.fail(path, f"must be text, got {_describe(value)}")
            value = value.strip()
            if kind == "key" and not KEY_PATTERN.fullmatch(value):
                self.fail(path, f"{value!r} must use only lower-case letters, digits and hyphens")
            if kind == "key" and len(value) > KEY_MAX_LENGTH:
                self.fail(path, f"{value!r} is longer than {KEY_MAX_LENGTH} characters")
            return value
        if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(path, f"must be a whole number, got {_describe(value)}")
        if kind == "bool" and not isinstance(value, bool):
            self.fail(path, f"must be true or false, got {_describe(value)}")
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.fail(path, f"must be a number, got {_describe(value)}")
            return float(value)
        if kind == "labels":
            return self.labels(value, path)
        return value

    def labels(self, node: Any, path: str) -> dict[int, str]:
        if not isinstance(node, dict) or not node:
            self.fail(path, f"must be a mapping of scale points to labels, got {_describe(node)}")
        labels: dict[int, str] = {}
        for raw, text in node.items():
            point = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
            if isinstance(raw, str) and re.fullmatch(r"-?[0-9]+", raw.strip()):
                point = int(raw)  # a stored definition's JSON keys are strings
            if point is None:
                self.fail(path, f"{raw!r} is not a scale point (a whole number)")
            if point in labels:
                self.fail(f"{path}.{point}", f"scale point {point} is labelled twice")
            labels[point] = self.value("text", text, f"{path}.{point}")
        return dict(sorted(labels.items()))

    def check(self, instrument: Instrument) -> None:
        """The rules that span fields."""
        if instrument.version < 1:
            self.fail("version", f"must be at least 1, got {instrument.version}")
        if len(instrument.title) > TITLE_MAX_LENGTH:
            self.fail("title", f"must be at most {TITLE_MAX_LENGTH} characters")
        low, high = instrument.scale.min, instrument.scale.max
        if low >= high:
            self.fail("scale", f"min ({low}) must be less than max ({high})")
        if low < SCORE_LIMITS[0] or high > SCORE_LIMITS[1]:
            self.fail("scale", f"min and max must lie between {SCORE_LIMITS[0]} and "
                               f"{SCORE_LIMITS[1]}, got {low} and {high}")
        for point in instrument.scale.labels:
            if not low <= point <= high:
                self.fail(f"scale.labels.{point}", f"{point} is outside the scale {low}..{high}")
        for point in (low, high):
            if point not in instrument.scale.labels:
                self.fail("scale.labels", f"the end point {point} must be labelled")
        rule = instrument.validity
        if rule.min_responses < 1:
            self.fail("validity.min_responses", f"must be at least 1, got {rule.min_responses}")
        if rule.min_senior < 0:
            self.fail("validity.min_senior", f"must not be negative, got {rule.min_senior}")
        if rule.min_senior > rule.min_responses:
            self.fail("validity.min_senior", f"{rule.min_senior} senior responses cannot be "
                                             f"required out of {rule.min_responses}")
        if not 0 < rule.min_rated_fraction <= 1:
            self.fail("validity.min_rated_fraction",
                      f"must be more than 0 and at most 1, got {rule.min_rated_fraction:g}")
        if rule.min_senior and not instrument.senior_group_keys:
            self.fail("validity.min_senior", f"requires {rule.min_senior} senior responses but "
                                             "no rater group is marked 'senior: true'")


def parse_instrument(data: Any, source: str) -> Instrument:
    """Validate already-parsed data (from YAML or a stored definition) into an Instrument."""
    reader = _Reader(source)
    if data is None:
        reader.fail("", "the file is empty")
    if not isinstance(data, dict):
        reader.fail("", f"the top level must be a mapping of keys to values, got {_describe(data)}")
    instrument = reader.build(Instrument, data, "")
    reader.check(instrument)
    return dataclasses.replace(instrument, source=source,
                               sha256=definition_sha256(instrument.to_definition()))


def from_definition(definition: dict[str, Any], source: str = "<definition>") -> Instrument:
    """Rebuild an Instrument from :meth:`Instrument.to_definition` output (e.g. stored JSON)."""
    return parse_instrument(definition, source)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a mapping key given twice instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # unhashable key: SafeLoader reports it
                continue
            if first is not None:
                raise ConstructorError(None, None, f"duplicate key {key!r} "
                                         f"(first given at line {first})", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _display_path(path: Path) -> str:
    """The path relative to the working directory when it is inside it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def load_instrument(path: str | Path) -> Instrument:
    path = Path(path)
    source = _display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstrumentError(source, "", f"cannot read the file: {exc}") from exc
    loader = _StrictLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(exc.problem or exc.context)
        if not problem.startswith("duplicate key"):
            problem = f"not valid YAML: {problem}"
        raise InstrumentError(source, where, problem) from exc
    except yaml.YAMLError as exc:
        raise InstrumentError(source, "", f"not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return parse_instrument(data, source)


def load_directory(directory: str | Path) -> dict[str, Instrument]:
    """Every ``*.yaml`` in ``directory`` by instrument key, in file-name order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InstrumentError(_display_path(directory), "", "no such directory")
    instruments: dict[str, Instrument] = {}
    for path in sorted(directory.glob("*.yaml")):
        instrument = load_instrument(path)
        if instrument.key in instruments:
            raise InstrumentError(instrument.source, "key", f"duplicate instrument key "
                                  f"{instrument.key!r} (also used by "
                                  f"{instruments[instrument.key].source})")
        instruments[instrument.key] = instrument
    return instruments


def summarise(instrument: Instrument) -> str:
    """A few lines for ``flask instruments check``."""
    groups = ", ".join(
        group.key + ("" if group.anonymous else " (named)") + (" (senior)" if group.senior else "")
        for group in instrument.rater_groups)
    labels = "; ".join(f"{p} {t}" for p, t in instrument.scale.labels.items())
    return "\n".join([
        f"{instrument.key} v{instrument.version}: {instrument.title}",
        f"  source: {instrument.source or '-'}",
        f"  sha256: {instrument.sha256}",
        f"  {len(instrument.domains)} domains, {len(instrument.elements)} elements, "
        f"{len(instrument.items)} items, {len(instrument.comments)} comment prompts",
        f"  scale: {instrument.scale.min}-{instrument.scale.max} ({labels}); "
        f"or {instrument.scale.not_observed!r}",
        f"  rater groups: {groups}",
        f"  validity: {instrument.validity.describe()}",
    ])


# --- the database snapshot ----------------------------------------------------------------------

def snapshot(instrument: Instrument) -> InstrumentVersion:
    """The stored InstrumentVersion for this key and version, created and flushed (never committed)
    if absent; InstrumentVersionConflict if it holds other content, as old reports must not change.
    """
    from .extensions import db
    from .models import InstrumentVersion

    row = db.session.scalar(db.select(InstrumentVersion).filter_by(
        key=instrument.key, version=instrument.version))
    if row is None:
        row = InstrumentVersion(key=instrument.key, version=instrument.version,
                                sha256=instrument.sha256, title=instrument.title,
                                definition=instrument.to_definition())
        db.session.add(row)
        db.session.flush()
        return row
    if row.sha256 != instrument.sha256:
        latest = db.session.scalar(db.select(db.func.max(InstrumentVersion.version)).filter_by(
            key=instrument.key)) or instrument.version
        v = instrument.version
        raise InstrumentVersionConflict(
            instrument.source or instrument.key, "",
            f"content changed but version is still {v}; bump 'version' to {latest + 1} to "
            f"publish the change (reports from earlier cycles keep version {v})")
    return row


def instrument_from_version(row: InstrumentVersion) -> Instrument:
    """The Instrument a stored snapshot describes (keeping the sha256 it was stored under)."""
    instrument = from_definition(row.definition,
                                 source=f"instrument_versions[{row.key} v{row.version}]")
    return dataclasses.replace(instrument, sha256=row.sha256)
