"""The workplace affordances questionnaire (issue 14): what a trainee's placement offers for
leadership, answered by the trainee about the placement, never about themself or by raters.

One YAML file, ``<INSTRUMENTS_DIR>/affordances/affordances.yaml``: in a folder of its own because
every ``*.yaml`` directly in ``INSTRUMENTS_DIR`` is loaded as a 360 instrument. It is read by the
instruments' rules (``loader.Reader``: unknown keys, duplicate keys, missing labels and empty
texts are errors naming the file and the path inside it), and frozen into ``instrument_versions``
by the same ``snapshot`` (key, version and the sha256 of its canonical definition), so answers
keep the wording they were given on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .loader import Reader, read_yaml
from .model import TITLE_MAX_LENGTH, InstrumentError, _plain, definition_sha256

# The affordance_answers.score check constraint.
SCORE_RANGE = (1, 10)
FILE = Path("affordances") / "affordances.yaml"


@dataclass(frozen=True)
class AgreementScale:
    min: int
    max: int
    labels: dict[int, str]
    does_not_apply: str

    @property
    def points(self) -> tuple[int, ...]:
        return tuple(range(self.min, self.max + 1))

    def __hash__(self) -> int:
        return hash((self.min, self.max, tuple(self.labels.items()), self.does_not_apply))


@dataclass(frozen=True)
class AffordanceItem:
    key: str
    text: str
    hint: str | None = None


@dataclass(frozen=True)
class CommentBox:
    prompt: str
    hint: str | None = None


@dataclass(frozen=True)
class AffordanceQuestionnaire:
    key: str
    version: int
    title: str
    description: str | None
    scale: AgreementScale
    items: tuple[AffordanceItem, ...]
    comment: CommentBox
    sha256: str = field(default="", metadata={"definition": False})
    source: str = field(default="", compare=False, metadata={"definition": False})

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)

    def item(self, key: str) -> AffordanceItem:
        return {item.key: item for item in self.items}[key]

    def to_definition(self) -> dict[str, Any]:
        return _plain(self)


_SCHEMA: dict[type, dict[str, Any]] = {
    AgreementScale: {"min": "int", "max": "int", "labels": "labels", "does_not_apply": "text"},
    AffordanceItem: {"key": "key", "text": "text", "hint": "optional text"},
    CommentBox: {"prompt": "text", "hint": "optional text"},
    AffordanceQuestionnaire: {"key": "key", "version": "int", "title": "text",
                              "description": "optional text", "scale": AgreementScale,
                              "items": (AffordanceItem,), "comment": CommentBox},
}
_UNIQUE = {AffordanceItem: "item"}


def parse_questionnaire(data: Any, source: str) -> AffordanceQuestionnaire:
    """Validate parsed data (from the file or a stored definition)."""
    reader = Reader(source, _SCHEMA, _UNIQUE)
    if data is None:
        reader.fail("", "the file is empty")
    if not isinstance(data, dict):
        reader.fail("", "the top level must be a mapping of keys to values")
    questionnaire = reader.build(AffordanceQuestionnaire, data, "")
    if questionnaire.version < 1:
        reader.fail("version", f"must be at least 1, got {questionnaire.version}")
    if len(questionnaire.title) > TITLE_MAX_LENGTH:
        reader.fail("title", f"must be at most {TITLE_MAX_LENGTH} characters")
    scale = questionnaire.scale
    if scale.min >= scale.max:
        reader.fail("scale", f"min ({scale.min}) must be less than max ({scale.max})")
    if scale.min < SCORE_RANGE[0] or scale.max > SCORE_RANGE[1]:
        reader.fail("scale", f"min and max must lie between {SCORE_RANGE[0]} and "
                             f"{SCORE_RANGE[1]}, got {scale.min} and {scale.max}")
    # An agreement scale is answered by its words: every point needs its label.
    for point in scale.labels:
        if point not in scale.points:
            reader.fail(f"scale.labels.{point}", f"{point} is outside the scale "
                                                 f"{scale.min}..{scale.max}")
    for point in scale.points:
        if point not in scale.labels:
            reader.fail("scale.labels", f"missing the label of point {point} (every point of "
                                        "an agreement scale is labelled)")
    return dataclasses.replace(questionnaire, source=source,
                               sha256=definition_sha256(questionnaire.to_definition()))


def load_questionnaire(path: str | Path) -> AffordanceQuestionnaire:
    data, source = read_yaml(path)
    return parse_questionnaire(data, source)


def questionnaire_path(instruments_dir: str | Path) -> Path:
    return Path(instruments_dir) / FILE


def from_stored(definition: dict[str, Any], sha256: str, source: str) -> AffordanceQuestionnaire:
    """The questionnaire a stored snapshot describes, keeping the sha256 it was stored under."""
    return dataclasses.replace(parse_questionnaire(definition, source), sha256=sha256)


__all__ = ["AffordanceItem", "AffordanceQuestionnaire", "AgreementScale", "CommentBox",
           "InstrumentError", "from_stored", "load_questionnaire", "parse_questionnaire",
           "questionnaire_path"]
