"""The instrument a cycle uses, rebuilt from its stored snapshot once per process."""

from __future__ import annotations

from ..instruments import Instrument, instrument_from_version
from ..models import FeedbackCycle, InstrumentVersion

# Snapshots never change once written, so (id, sha256) is a safe key for the whole process.
# The sha256 is in the key because one process can meet different databases (the tests do),
# where the same id holds another snapshot. InstrumentVersion.definition is a deferred column:
# reading the key loads the row's small columns only, and the JSON definition is fetched and
# decoded on a miss, once per snapshot and process.
_instruments: dict[tuple[int, str], Instrument] = {}


def instrument_for(cycle: FeedbackCycle) -> Instrument:
    return instrument_of_version(cycle.instrument_version)


def instrument_of_version(version: InstrumentVersion) -> Instrument:
    key = (version.id, version.sha256)
    instrument = _instruments.get(key)
    if instrument is None:
        instrument = _instruments[key] = instrument_from_version(version)
    return instrument
