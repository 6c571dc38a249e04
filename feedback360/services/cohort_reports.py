"""Cohort reports (issue 5, points 3 and 4): the database's narrow rows in, a CohortReport out.

A few grouped queries, each selecting only the columns it needs: the cohort's trainees, their
closed cycles, those cycles' domain and element ``CycleScore`` rows, invitation counts grouped by
cycle and rater group, and the same programme's other intakes for the trend. Never the answers,
never a summary's JSON. Flushes nothing.

Which cycles: for each trainee now in the cohort (``User.cohort_id``), the most recent closed or
released cycle, or the one a given launch opened. The cycles of a launch still running (any of
its cycles draft or open) count nowhere until the whole launch has closed: otherwise each cycle
closing early would change the figures by exactly one trainee between two page loads.

Which instrument: the cohort's most recent launch's (without launches, the most recent cycle's).
A cycle scored on an instrument lacking one of its domains or elements counts in participation
only.

The audited analysis is kept per process (:func:`analysis`): a closed cycle's summary never
changes, so the cohort's figures change only when what they are built from does, and that is
read first in a few narrow queries (trainees, closed cycles with their summaries' time, launches,
the same programme's other intakes) and fingerprinted. The expensive parts, the score rows, the
invitation counts and the disclosure audit, run once per fingerprint.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app
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
from ..scoring.cohort import DIMENSIONS, CohortAnalysis, CohortReport, Selection, headings
from . import DomainError, NotFound
from .instrument_cache import instrument_of_version

REPORTED = ("closed", "released")
SCORE_LEVELS = ("domain", "element")  # the report's; items only for the item-level file


@dataclass(frozen=True)
class ReportFilters:
    cohort_id: int
    launch_id: int | None = None  # one cohort launch only
    specialty: str | None = None
    training_year: int | None = None
    site: str | None = None

    @property
    def selection(self) -> Selection:
        return Selection(self.launch_id, self.specialty, self.training_year, self.site)

    def as_dict(self) -> dict[str, object]:
        """The filters as an audit event records them."""
        return {"launch_id": self.launch_id, "specialty": self.specialty,
                "training_year": self.training_year, "site": self.site}


@dataclass(frozen=True)
class FilterOptions:
    """What the filter form offers: the cohort's launches and recorded attribute values."""

    launches: list[tuple[int, str]]
    specialties: list[str]
    training_years: list[int]
    sites: list[str]


@dataclass(frozen=True)
class _Basis:
    """What a cohort's figures are built from, cheap to read: the fingerprint's input."""

    cohort: Cohort
    launches: list[tuple[int, int]]  # (id, instrument version), newest first
    trainees: pd.DataFrame
    cycles: pd.DataFrame  # this cohort's reported cycles
    others: list[Cohort]  # the same programme's other intakes
    other_cycles: pd.DataFrame  # their trainees' latest reported cycles

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


def min_trainees() -> int:
    return int(current_app.config.get("COHORT_MIN_TRAINEES", 5))


def _cohort(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("There is no such cohort.")
    return cohort


def _frame(statement: Select[Any], columns: list[str]) -> pd.DataFrame:
    """A Core query's rows as columns: no ORM row objects (a cohort has thousands of rows)."""
    rows = db.session.connection().execute(statement).fetchall()
    return pd.DataFrame(dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True))
                        if rows else {c: [] for c in columns}, columns=columns)


def _closed_cycles(cohort_ids: list[int]) -> pd.DataFrame:
    """Every closed or released cycle of the trainees now in these cohorts, with its launch
    (if any), whether its summary had enough responses, and whether it is the trainee's latest
    (cycles of launches still running left out)."""
    running = (db.select(CohortLaunchCycle.launch_id)
               .join(FeedbackCycle, FeedbackCycle.id == CohortLaunchCycle.cycle_id)
               .where(FeedbackCycle.status.in_(("draft", "open"))))
    frame = _frame(
        db.select(FeedbackCycle.id, FeedbackCycle.trainee_id, User.cohort_id,
                  FeedbackCycle.instrument_version_id, CohortLaunchCycle.launch_id,
                  CycleSummary.enough_responses, FeedbackCycle.closes_on, FeedbackCycle.closed_at,
                  CycleSummary.computed_at)
        .join(User, User.id == FeedbackCycle.trainee_id)
        .outerjoin(CohortLaunchCycle, CohortLaunchCycle.cycle_id == FeedbackCycle.id)
        .outerjoin(CycleSummary, CycleSummary.cycle_id == FeedbackCycle.id)
        .where(User.cohort_id.in_(cohort_ids), User.role == "trainee",
               FeedbackCycle.status.in_(REPORTED),
               db.or_(CohortLaunchCycle.launch_id.is_(None),
                      CohortLaunchCycle.launch_id.not_in(running)))
        .order_by(FeedbackCycle.id),
        ["cycle_id", "trainee_id", "cohort_id", "version_id", "launch_id", "enough",
         "closes_on", "closed_at", "summary_at"])
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
    chunks = [_frame(
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
    return _frame(
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


def _instrument(launch_versions: list[int], cycles: pd.DataFrame) -> Instrument | None:
    if launch_versions:
        version = launch_versions[0]
    elif len(cycles):
        version = int(cycles.sort_values(["closes_on", "cycle_id"])["version_id"].iloc[-1])
    else:
        return None
    snapshot = db.session.get(InstrumentVersion, version)
    return instrument_of_version(snapshot) if snapshot is not None else None


def _basis(cohort_id: int) -> _Basis:
    cohort = _cohort(cohort_id)
    trainees = _frame(
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
    return _Basis(cohort, launches, trainees, cycles.reset_index(drop=True), others,
                  other_cycles.reset_index(drop=True))


def _frames(basis: _Basis) -> _Frames:
    cohort_id = basis.cohort.id
    instrument = _instrument([v for _, v in basis.launches], basis.cycles)
    scores = _scores([int(i) for i in basis.cycles["cycle_id"]], instrument)
    return _Frames(basis.cohort, instrument, [launch_id for launch_id, _ in basis.launches],
                   basis.trainees, basis.cycles, scores, _participation(cohort_id))


def _intakes(frames: _Frames, basis: _Basis) -> pd.DataFrame:
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


ANALYSES_KEPT = 32
_analyses: OrderedDict[tuple[Any, ...], CohortAnalysis | None] = OrderedDict()
_analyses_lock = threading.Lock()


def analysis(cohort_id: int) -> CohortAnalysis | None:
    """The cohort's frames, audited once for every selection; None before any cycle closed
    (NotFound for an unknown cohort). Kept per process for as long as its basis is unchanged."""
    basis = _basis(cohort_id)
    threshold = float(current_app.config.get("BLIND_SPOT_THRESHOLD", 1.0))
    key = (current_app.config["SQLALCHEMY_DATABASE_URI"], cohort_id, min_trainees(), threshold,
           basis.fingerprint())
    with _analyses_lock:
        if key in _analyses:
            _analyses.move_to_end(key)
            return _analyses[key]
    made = _analyse(basis, threshold)
    with _analyses_lock:
        _analyses[key] = made
        while len(_analyses) > ANALYSES_KEPT:
            _analyses.popitem(last=False)
    return made


def _analyse(basis: _Basis, threshold: float) -> CohortAnalysis | None:
    frames = _frames(basis)
    if frames.instrument is None:
        return None
    return CohortAnalysis(
        frames.scores, frames.trainees, frames.cycles, frames.participation, frames.instrument,
        min_trainees(), launches=frames.launches, threshold=threshold,
        intakes=_intakes(frames, basis))


def cohort_report(filters: ReportFilters, audited: CohortAnalysis | None = None
                  ) -> CohortReport:
    """The report for these filters (needs an app context). Unpublishable filters give a report
    with a message and no numbers; NotFound for an unknown cohort. ``audited``: the cohort's
    :func:`analysis`, when the caller has it already."""
    audited = audited or analysis(filters.cohort_id)
    if audited is None:
        return _empty_report(filters)
    return audited.report(filters.selection)


def _empty_report(filters: ReportFilters) -> CohortReport:
    return CohortReport(selection=filters.selection, min_trainees=min_trainees(), scale_min=1,
                        scale_max=5, threshold=1.0, band_labels=(), domain_titles={},
                        has_cycles=False, participation=None,
                        message="No feedback cycle of this cohort has closed yet.")


def filter_options(cohort_id: int) -> FilterOptions:
    _cohort(cohort_id)
    launches = db.session.execute(
        db.select(CohortLaunch.id, CohortLaunch.title).where(CohortLaunch.cohort_id == cohort_id)
        .order_by(CohortLaunch.launched_at.desc(), CohortLaunch.id.desc())).all()
    values = db.session.execute(
        db.select(User.specialty, User.training_year, User.site).distinct()
        .where(User.cohort_id == cohort_id, User.role == "trainee")).all()
    return FilterOptions(
        launches=[(launch_id, title) for launch_id, title in launches],
        specialties=sorted({s for s, _, _ in values if s}, key=str.casefold),
        training_years=sorted({y for _, y, _ in values if y is not None}),
        sites=sorted({s for _, _, s in values if s}, key=str.casefold))


ITEM_COLUMNS = ["trainee", "domain", "element", "item", "statement", "self_score",
                "others_mean"]


def item_level_rows(filters: ReportFilters) -> pd.DataFrame:
    """Item-level rows for programme evaluation: one per scored trainee and item, each trainee
    known only by a pseudonym drawn afresh for every call.

    Only for one whole launch (no specialty, year or site filter) whose scores the report shows:
    these are one row per trainee, and rows can be matched between files by their values, so
    two overlapping selections would give away the rows in one but not the other. Launches
    never share a cycle, so their files share no row. There is no attribute column and no count
    of raters (the launch's progress page shows those per trainee, which would name the row).
    """
    if filters.launch_id is None or any(getattr(filters, d) is not None for d in DIMENSIONS):
        raise DomainError("The item-level file is available for one whole launch: choose a "
                          "launch and no specialty, training year or site.")
    audited = analysis(filters.cohort_id)
    report = cohort_report(filters, audited)
    if audited is None or not report.scores_shown:
        raise DomainError(report.message or "This launch's scores cannot be shown.")
    ids = audited.scored_cycle_ids(filters.selection)
    rows = _frame(
        db.select(CycleScore.cycle_id, CycleScore.key, CycleScore.self_score,
                  CycleScore.others_mean)
        .join(CohortLaunchCycle, CohortLaunchCycle.cycle_id == CycleScore.cycle_id)
        .where(CohortLaunchCycle.launch_id == filters.launch_id, CycleScore.level == "item"),
        ["cycle_id", "item", "self_score", "others_mean"])
    rows = rows[rows["cycle_id"].isin(ids)]
    pseudonyms = _pseudonyms(ids)
    instrument = audited.instrument
    order = {key: i for i, key in enumerate(instrument.item_keys)}
    rows = rows[rows["item"].isin(order)].copy()
    rows["trainee"] = rows["cycle_id"].map(pseudonyms)
    for column, title in (("domain", lambda k: instrument.domain_of_item(k).title),
                          ("element", lambda k: instrument.element_of_item(k).title),
                          ("statement", lambda k: instrument.item(k).text)):
        rows[column] = rows["item"].map({key: title(key) for key in order})
    rows["order"] = rows["item"].map(order)
    rows = rows.sort_values(["trainee", "order"])
    return rows[ITEM_COLUMNS].astype({"self_score": "float64", "others_mean": "float64"}
                                     ).reset_index(drop=True)


def _pseudonyms(cycle_ids: list[int]) -> dict[int, str]:
    """A fresh random label per trainee: sorted by label, the file's order says nothing."""
    labels: set[str] = set()
    while len(labels) < len(cycle_ids):
        labels.add(f"T-{secrets.token_hex(4).upper()}")
    shuffled = sorted(labels)
    secrets.SystemRandom().shuffle(shuffled)
    return dict(zip(cycle_ids, shuffled, strict=True))

