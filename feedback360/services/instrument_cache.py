"""The instrument a cycle uses, rebuilt from its stored snapshot once per process."""

from __future__ import annotations

from ..instruments import Instrument, instrument_from_version
from ..models import FeedbackCycle

# Snapshots never change once written, so (id, sha256) is a safe key for the whole process.
_instruments: dict[tuple[int, str], Instrument] = {}


def instrument_for(cycle: FeedbackCycle) -> Instrument:
    version = cycle.instrument_version
    key = (version.id, version.sha256)
    instrument = _instruments.get(key)
    if instrument is None:
        instrument = _instruments[key] = instrument_from_version(version)
    return instrument
