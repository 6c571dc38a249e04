"""Reading instrument YAML: every problem names the file and the path inside it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import ConstructorError

from .model import (
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    SCORE_LIMITS,
    TITLE_MAX_LENGTH,
    CommentPrompt,
    Domain,
    Element,
    Instrument,
    InstrumentError,
    Item,
    RaterGroup,
    Scale,
    ValidityRule,
    definition_sha256,
)

# --- reading and validating ---------------------------------------------------------------------

# What each mapping may hold; the YAML keys are the dataclass field names. A class is a nested
# mapping, ``(Class,)`` a non-empty list of them, ``[Class]`` a list that may be empty. A field is
# required unless its dataclass field has a default or its kind is optional.
_SCHEMA: dict[type, dict[str, Any]] = {
    Scale: {"min": "int", "max": "int", "labels": "labels", "not_observed": "text",
            "self_not_observed": "optional text"},
    RaterGroup: {"key": "key", "label": "text", "anonymous": "bool", "senior": "bool",
                 "description": "optional text"},
    Item: {"key": "key", "text": "text", "self_text": "optional text"},
    Element: {"key": "key", "title": "text", "items": (Item,)},
    Domain: {"key": "key", "title": "text", "description": "optional text",
             "self_description": "optional text", "elements": (Element,)},
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


class Reader:
    """Walks one source's data; every failure names the source and the path inside it."""

    def __init__(self, source: str, schema: dict[type, dict[str, Any]] | None = None,
                 unique: dict[type, str] | None = None) -> None:
        # Another questionnaire (the affordances one) brings its own schema, read by the same rules.
        self.source = source
        self.schema = _SCHEMA if schema is None else schema
        self.unique = _UNIQUE if unique is None else unique
        self.seen: dict[tuple[type, str], str] = {}  # (class, key) -> path of its first use

    def fail(self, path: str, problem: str) -> NoReturn:
        raise InstrumentError(self.source, path, problem)

    def build(self, cls: type, node: Any, path: str) -> Any:
        spec = self.schema[cls]
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
        if cls in self.unique:
            first = self.seen.setdefault((cls, built.key), path)
            if first != path:
                self.fail(_at(path, "key"), f"duplicate {self.unique[cls]} key {built.key!r} "
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


    def check_self_wording(self, instrument: Instrument) -> None:
        """A questionnaire file words everything the trainee answers about themself in the first
        person: each statement (``self_text``), each domain description there is
        (``self_description``), and the "not observed" choice (``scale.self_not_observed``).
        (Snapshots stored before these existed are read without them.)"""
        if instrument.scale.self_not_observed is None:
            self.fail("scale", "missing 'self_not_observed' (the choice the trainee is offered "
                               "instead of 'not observed' in their self-assessment)")
        for d, domain in enumerate(instrument.domains):
            path = f"domains[{d}]"
            if domain.description and domain.self_description is None:
                self.fail(path, "missing 'self_description' (the description in the first "
                                "person, for the self-assessment)")
            for e, element in enumerate(domain.elements):
                for i, item in enumerate(element.items):
                    if item.self_text is None:
                        self.fail(f"{path}.elements[{e}].items[{i}]",
                                  f"item {item.key!r} is missing 'self_text' (the statement in "
                                  "the first person, for the self-assessment)")


def parse_instrument(data: Any, source: str, *, self_wording: bool = False) -> Instrument:
    """Validate already-parsed data (from YAML or a stored definition) into an Instrument;
    ``self_wording`` requires the first-person wording a questionnaire file must have."""
    reader = Reader(source)
    if data is None:
        reader.fail("", "the file is empty")
    if not isinstance(data, dict):
        reader.fail("", f"the top level must be a mapping of keys to values, got {_describe(data)}")
    instrument = reader.build(Instrument, data, "")
    reader.check(instrument)
    if self_wording:
        reader.check_self_wording(instrument)
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
    data, source = read_yaml(path)
    return parse_instrument(data, source, self_wording=True)


def read_yaml(path: str | Path) -> tuple[Any, str]:
    """A questionnaire file's data, strictly (no key given twice), and the name to report it by."""
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
    return data, source


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

