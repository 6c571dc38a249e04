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
from typing import TYPE_CHECKING

from .loader import from_definition, load_directory, load_instrument, parse_instrument
from .model import (
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    SCORE_LIMITS,
    SENIOR_WORDS,
    TITLE_MAX_LENGTH,
    CommentPrompt,
    Domain,
    Element,
    Instrument,
    InstrumentError,
    InstrumentVersionConflict,
    Item,
    RaterGroup,
    Scale,
    ValidityRule,
    definition_sha256,
)

if TYPE_CHECKING:
    from ..models import InstrumentVersion

__all__ = ["KEY_MAX_LENGTH", "KEY_PATTERN", "SCORE_LIMITS", "SENIOR_WORDS", "TITLE_MAX_LENGTH",
           "CommentPrompt", "Domain", "Element", "Instrument", "InstrumentError",
           "InstrumentVersionConflict", "Item", "RaterGroup", "Scale", "ValidityRule",
           "definition_sha256", "from_definition", "instrument_from_version", "load_directory",
           "load_instrument", "parse_instrument", "snapshot", "summarise"]


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
    from ..extensions import db
    from ..models import InstrumentVersion

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
