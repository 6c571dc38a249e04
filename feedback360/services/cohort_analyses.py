"""A cohort's audited analysis, made once for each state of the cohort and kept.

A closed cycle's summary never changes, so a cohort's figures change only when what they are
built from does (``cohort_basis.Basis``: a few narrow queries, fingerprinted). The expensive part
(the score rows, the invitation counts, the disclosure audit: over a second for 5,000 trainees)
runs once per fingerprint, and its result is kept at two levels:

* in this process, for the next request it serves (the last :data:`ANALYSES_KEPT` cohorts);
* in the database (``StoredCohortAnalysis``, one row per cohort), for every other process and
  after a restart. The row is keyed on the fingerprint together with the anonymity settings and
  the stored format, so a row that no longer matches is rebuilt, never used.

Who builds it: ``flask close-due-cycles``, for every cohort whose figures the cycles it closed
change (the cohorts of their trainees and those cohorts' programmes, whose trends include
them), so the programme lead's first look at a closed launch is as quick as any other; otherwise
whichever report first finds the stored row missing or out of date (a cycle closed early, a
trainee's details changed). ``flask refresh-cohort-reports`` rebuilds on demand.

Writing the row is a cache write, made in its own short transaction so that a report stays a
read: if it fails (another process writing the same row, a locked SQLite file) the request still
gets its analysis and the failure is logged.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Cohort, FeedbackCycle, StoredCohortAnalysis, User, utcnow
from ..scoring.cohort import CohortAnalysis, stored
from .cohort_basis import Basis, build_analysis, instrument_of, load_basis

log = logging.getLogger(__name__)

ANALYSES_KEPT = 32
_analyses: OrderedDict[tuple[Any, ...], CohortAnalysis | None] = OrderedDict()
_analyses_lock = threading.Lock()


@dataclass(frozen=True)
class Settings:
    min_trainees: int
    threshold: float  # blind-spot threshold, for self against others


def settings() -> Settings:
    return Settings(int(current_app.config.get("COHORT_MIN_TRAINEES", 5)),
                    float(current_app.config.get("BLIND_SPOT_THRESHOLD", 1.0)))


def basis_key(basis: Basis, chosen: Settings) -> str:
    """What a stored analysis must match to be used: its basis, settings and format."""
    return hashlib.sha256(repr((stored.FORMAT, chosen.min_trainees, chosen.threshold,
                                basis.fingerprint())).encode()).hexdigest()


def analysis(cohort_id: int) -> CohortAnalysis | None:
    """The cohort's analysis, audited once for every selection; None before anything can be
    reported (NotFound for an unknown cohort)."""
    basis, chosen, key, in_process = _keyed(cohort_id)
    with _analyses_lock:
        if in_process in _analyses:
            _analyses.move_to_end(in_process)
            return _analyses[in_process]
    made = _restore(cohort_id, key, chosen)
    if made is None:
        made = _build_and_store(basis, key, chosen)
    _remember(in_process, made)
    return made


def refresh(cohort_ids: Iterable[int]) -> int:
    """Give each of these cohorts an up-to-date stored analysis; how many had to be built."""
    built = 0
    for cohort_id in sorted(set(cohort_ids)):
        basis, chosen, key, in_process = _keyed(cohort_id)
        if db.session.scalar(db.select(StoredCohortAnalysis.cohort_id).where(
                StoredCohortAnalysis.cohort_id == cohort_id,
                StoredCohortAnalysis.basis_key == key)) is not None:
            continue
        made = _build_and_store(basis, key, chosen)
        built += made is not None
        _remember(in_process, made)
    return built


def cohorts_affected(cycle_ids: Iterable[int]) -> list[int]:
    """The cohorts whose reports these cycles count in: their trainees' cohorts, and the other
    intakes of those cohorts' programmes (whose trend shows them)."""
    ids = list(cycle_ids)
    if not ids:
        return []
    cohorts = db.session.execute(
        db.select(Cohort.id, Cohort.programme).distinct()
        .join(User, User.cohort_id == Cohort.id)
        .join(FeedbackCycle, FeedbackCycle.trainee_id == User.id)
        .where(FeedbackCycle.id.in_(ids))).all()
    programmes = {programme for _, programme in cohorts if programme}
    related = db.session.scalars(db.select(Cohort.id).where(
        Cohort.programme.in_(programmes))).all() if programmes else []
    return sorted({cohort_id for cohort_id, _ in cohorts} | set(related))


def _keyed(cohort_id: int) -> tuple[Basis, Settings, str, tuple[Any, ...]]:
    """The cohort's basis, the settings, the stored row's key and this process's cache key."""
    basis, chosen = load_basis(cohort_id), settings()
    key = basis_key(basis, chosen)
    return basis, chosen, key, (current_app.config["SQLALCHEMY_DATABASE_URI"], cohort_id, key)


def _build_and_store(basis: Basis, key: str, chosen: Settings) -> CohortAnalysis | None:
    made = build_analysis(basis, chosen.min_trainees, chosen.threshold)
    if made is not None and basis.instrument_version is not None:
        _store(basis.cohort.id, key, basis.instrument_version, made)
    return made


def _remember(in_process: tuple[Any, ...], made: CohortAnalysis | None) -> None:
    with _analyses_lock:
        _analyses[in_process] = made
        while len(_analyses) > ANALYSES_KEPT:
            _analyses.popitem(last=False)


def _restore(cohort_id: int, key: str, chosen: Settings) -> CohortAnalysis | None:
    row = db.session.execute(
        db.select(StoredCohortAnalysis.payload, StoredCohortAnalysis.instrument_version_id)
        .where(StoredCohortAnalysis.cohort_id == cohort_id,
               StoredCohortAnalysis.basis_key == key)).first()
    if row is None:
        return None
    instrument = instrument_of(row.instrument_version_id)
    if instrument is None:
        return None
    try:
        return stored.loads(row.payload, instrument, chosen.min_trainees, chosen.threshold)
    except stored.UnreadableAnalysis as error:
        log.warning("Stored analysis of cohort %s not used (%s): rebuilding it", cohort_id,
                    error)
        return None


def _store(cohort_id: int, key: str, version_id: int, made: CohortAnalysis) -> None:
    values = {"cohort_id": cohort_id, "basis_key": key, "instrument_version_id": version_id,
              "payload": stored.dumps(made), "computed_at": utcnow()}
    try:
        with db.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(StoredCohortAnalysis).values(values)
            connection.execute(statement.on_conflict_do_update(
                index_elements=[StoredCohortAnalysis.cohort_id],
                set_={name: statement.excluded[name] for name in values if name != "cohort_id"}))
    except SQLAlchemyError as error:
        log.warning("Could not store the analysis of cohort %s: %s", cohort_id, error)
