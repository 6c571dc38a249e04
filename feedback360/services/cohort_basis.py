"""What a cohort report is built from, read in a few narrow queries, and the analysis built on it.

The cohort's trainees, their closed cycles, those cycles' domain and element ``CycleScore`` rows,
invitation counts grouped by cycle and rater group, and the same programme's other intakes for
the trend: each query selects only the columns it needs. Never the answers, never a summary's
JSON. Flushes nothing.

Which cycles: for each trainee now in the cohort (``User.cohort_id``), the most recent closed or
released cycle, or the one a given launch opened; each counted under the specialty, training
year and site it closed with (``FeedbackCycle.*_at_close``), never the trainee's current ones.
The cycles of a launch still running (any of its cycles draft or open) count nowhere until the
whole launch has closed: otherwise each cycle closing early would change the figures by exactly
one trainee between two page loads.

Which instrument: the cohort's most recent launch's (without launches, the most recent cycle's).
A cycle scored on an instrument lacking one of its domains or elements counts in participation
only.

:func:`load_basis` is the cheap part (trainees, cycles, launches: a few thousand narrow rows),
whose :meth:`Basis.fingerprint` says whether anything the figures depend on changed;
:func:`build_analysis` the expensive one (the score rows, the invitation counts, the disclosure
audit). ``services.cohort_analyses`` runs the second once per fingerprint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select

from ..extensions import db
from ..instruments import Instrument
from ..models import (
    Cohort,
    CohortLaunch,
    CohortLaunchCycle,
    CycleScore,
    CycleSummary,
    FeedbackCycle,
    InstrumentVersion,
    Invitation,
    User,
)
from ..scoring.cohort import DIMENSIONS, CohortAnalysis, headings
from . import NotFound
from .instrument_cache import instrument_of_version

REPORTED = ("closed", "released")
SCORE_LEVELS = ("domain", "element")  # the report's; items only for the item-level file


@dataclass(frozen=True)
class Basis:
    """What a cohort's figures are built from, cheap to read: the fingerprint's input."""

    cohort: Cohort
    launches: list[tuple[int, int]]  # (id, instrument version), newest first
    trainees: pd.DataFrame
    cycles: pd.DataFrame  # this cohort's reported cycles
    others: list[Cohort]  # the same programme's other intakes
    other_cycles: pd.DataFrame  # their trainees' latest reported cycles

    @property
    def instrument_version(self) -> int | None:
        """The report's instrument: the latest launch's, else the latest closed cycle's."""
        if self.launches:
            return self.launches[0][1]
        if len(self.cycles):
            return int(self.cycles.sort_values(["closes_on", "cycle_id"])["version_id"].iloc[-1])
        return None

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for frame in (self.trainees, self.cycles, self.other_cycles):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
            digest.update(b"|")
        cohorts = [(c.id, c.name, c.programme, c.intake_year) for c in [self.cohort, *self.others]]
        digest.update(repr((self.launches, cohorts)).encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class _Frames:
    cohort: Cohort
    instrument: Instrument | None
    launches: list[int]
    trainees: pd.DataFrame
    cycles: pd.DataFrame
    scores: pd.DataFrame
    participation: pd.DataFrame


def find_cohort(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("There is no such cohort.")
    return cohort


def frame_of(statement: Select[Any], columns: list[str]) -> pd.DataFrame:
    """A Core query's rows as columns: no ORM row objects (a cohort has thousands of rows)."""
    rows = db.session.connection().execute(statement).fetchall()
    return pd.DataFrame(dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True))
                        if rows else {c: [] for c in columns}, columns=columns)


def _closed_cycles(cohort_ids: list[int]) -> pd.DataFrame:
    """Every closed or released cycle of the trainees now in these cohorts, with its launch
    (if any), whether its summary had enough responses, whether it is the trainee's latest
    (cycles of launches still running left out), and the trainee's attributes as it closed."""
    running = (db.select(CohortLaunchCycle.launch_id)
               .join(FeedbackCycle, FeedbackCycle.id == CohortLaunchCycle.cycle_id)
               .where(FeedbackCycle.status.in_(("draft", "open"))))
    frame = frame_of(
        db.select(FeedbackCycle.id, FeedbackCycle.trainee_id, User.cohort_id,
                  FeedbackCycle.instrument_version_id, CohortLaunchCycle.launch_id,
                  CycleSummary.enough_responses, FeedbackCycle.closes_on, FeedbackCycle.closed_at,
                  CycleSummary.computed_at, FeedbackCycle.specialty_at_close,
                  FeedbackCycle.training_year_at_close, FeedbackCycle.site_at_close)
        .join(User, User.id == FeedbackCycle.trainee_id)
        .outerjoin(CohortLaunchCycle, CohortLaunchCycle.cycle_id == FeedbackCycle.id)
        .outerjoin(CycleSummary, CycleSummary.cycle_id == FeedbackCycle.id)
        .where(User.cohort_id.in_(cohort_ids), User.role == "trainee",
               FeedbackCycle.status.in_(REPORTED),
               db.or_(CohortLaunchCycle.launch_id.is_(None),
                      CohortLaunchCycle.launch_id.not_in(running)))
        .order_by(FeedbackCycle.id),
        ["cycle_id", "trainee_id", "cohort_id", "version_id", "launch_id", "enough",
         "closes_on", "closed_at", "summary_at", *DIMENSIONS])
    frame["enough"] = frame["enough"].fillna(False).astype(bool)
    frame["launch_id"] = frame["launch_id"].astype("Int64")
    order = frame.sort_values(["trainee_id", "closes_on", "closed_at", "cycle_id"])
    latest = order.drop_duplicates("trainee_id", keep="last")["cycle_id"]
    frame["latest"] = frame["cycle_id"].isin(latest)
    return frame


ID_CHUNK = 10_000  # bound parameters per statement: well inside SQLite's and PostgreSQL's limits


def _scores(cycle_ids: list[int], instrument: Instrument | None) -> pd.DataFrame:
    """The instrument's domain and element rows of these cycles, looked up by the table's primary
    key (cycle, level, key). Each (level, key) travels as its position in the instrument (a CASE
    in SQL): a number per row rather than two strings, which is most of the cost for thousands
    of trainees."""
    columns = ["cycle_id", "level", "key", "self_score", "others_mean"]
    if instrument is None or not cycle_ids:
        return pd.DataFrame({c: [] for c in columns})
    wanted = [(level, key) for level, key, _, _ in headings(instrument)]
    position = db.case(*[(db.and_(CycleScore.level == level, CycleScore.key == key), i)
                         for i, (level, key) in enumerate(wanted)], else_=-1)
    chunks = [frame_of(
        db.select(CycleScore.cycle_id, position, CycleScore.self_score, CycleScore.others_mean)
        .where(CycleScore.cycle_id.in_(cycle_ids[start:start + ID_CHUNK]),
               CycleScore.level.in_(SCORE_LEVELS)),
        ["cycle_id", "position", "self_score", "others_mean"])
        for start in range(0, len(cycle_ids), ID_CHUNK)]
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    frame = frame[frame["position"] >= 0]
    codes = frame["position"].to_numpy(dtype=int)
    return pd.DataFrame({
        "cycle_id": frame["cycle_id"].to_numpy(),
        "level": np.array([level for level, _ in wanted], dtype=object)[codes],
        "key": np.array([key for _, key in wanted], dtype=object)[codes],
        "self_score": frame["self_score"].to_numpy(dtype="float64", na_value=np.nan),
        "others_mean": frame["others_mean"].to_numpy(dtype="float64", na_value=np.nan)},
        columns=columns)


def _participation(cohort_id: int) -> pd.DataFrame:
    """Invitations per cycle and rater group: asked (not withdrawn), answered, declined."""
    live = Invitation.removed_at.is_(None)
    return frame_of(
        db.select(Invitation.cycle_id, Invitation.rater_group,
                  db.func.count().filter(live),
                  db.func.count().filter(live, Invitation.status == "completed"),
                  db.func.count().filter(live, Invitation.status == "declined"))
        .join(FeedbackCycle, FeedbackCycle.id == Invitation.cycle_id)
        .join(User, User.id == FeedbackCycle.trainee_id)
        .where(User.cohort_id == cohort_id, User.role == "trainee",
               FeedbackCycle.status.in_(REPORTED))
        .group_by(Invitation.cycle_id, Invitation.rater_group),
        ["cycle_id", "rater_group", "invited", "completed", "declined"])


def instrument_of(version_id: int | None) -> Instrument | None:
    snapshot = db.session.get(InstrumentVersion, version_id) if version_id is not None else None
    return instrument_of_version(snapshot) if snapshot is not None else None


def load_basis(cohort_id: int) -> Basis:
    cohort = find_cohort(cohort_id)
    trainees = frame_of(
        db.select(User.id, User.specialty, User.training_year, User.site)
        .where(User.cohort_id == cohort_id, User.role == "trainee").order_by(User.id),
        ["trainee_id", *DIMENSIONS])
    launches = [(launch_id, version) for launch_id, version in db.session.execute(
        db.select(CohortLaunch.id, CohortLaunch.instrument_version_id)
        .where(CohortLaunch.cohort_id == cohort_id)
        .order_by(CohortLaunch.launched_at.desc(), CohortLaunch.id.desc()))]
    launch_ids = [launch_id for launch_id, _ in launches]
    cycles = _closed_cycles([cohort_id])
    cycles = cycles[cycles["latest"] | cycles["launch_id"].isin(launch_ids).fillna(False)]
    others = list(db.session.scalars(db.select(Cohort).where(
        Cohort.programme == cohort.programme, Cohort.id != cohort.id).order_by(Cohort.id))
    ) if cohort.programme else []
    other_cycles = _closed_cycles([c.id for c in others]) if others else cycles.iloc[:0]
    other_cycles = other_cycles[other_cycles["latest"]]
    return Basis(cohort, launches, trainees, cycles.reset_index(drop=True), others,
                  other_cycles.reset_index(drop=True))


def _frames(basis: Basis) -> _Frames:
    cohort_id = basis.cohort.id
    instrument = instrument_of(basis.instrument_version)
    scores = _scores([int(i) for i in basis.cycles["cycle_id"]], instrument)
    return _Frames(basis.cohort, instrument, [launch_id for launch_id, _ in basis.launches],
                   basis.trainees, basis.cycles, scores, _participation(cohort_id))


def _intakes(frames: _Frames, basis: Basis) -> pd.DataFrame:
    """Each trainee's latest cycle and its domain and element scores, for every cohort of the
    same programme (this one's from ``frames``), for the trend across intakes."""
    cohort, others = frames.cohort, basis.others
    cycles = frames.cycles[frames.cycles["latest"]].assign(cohort_id=cohort.id)
    scores = frames.scores
    if others:
        cycles = pd.concat([cycles, basis.other_cycles], ignore_index=True)
        scores = pd.concat([scores, _scores([int(i) for i in basis.other_cycles["cycle_id"]],
                                            frames.instrument)], ignore_index=True)
    frame = cycles[["cycle_id", "cohort_id", "enough"]].merge(scores, on="cycle_id")
    names = {c.id: (c.name, c.intake_year, c.id == cohort.id) for c in [cohort, *others]}
    for position, column in enumerate(("cohort", "intake_year", "current")):
        frame[column] = frame["cohort_id"].map({i: name[position] for i, name in names.items()})
    return frame


def build_analysis(basis: Basis, min_trainees: int, threshold: float
                   ) -> CohortAnalysis | None:
    """The cohort's frames, audited once for every selection; None before any cycle closed."""
    frames = _frames(basis)
    if frames.instrument is None:
        return None
    return CohortAnalysis(
        frames.scores, frames.trainees, frames.cycles, frames.participation, frames.instrument,
        min_trainees, launches=frames.launches, threshold=threshold,
        intakes=_intakes(frames, basis))
