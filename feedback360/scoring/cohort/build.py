"""Build CohortReports from narrow frames (see :class:`CohortAnalysis` for their columns).

A cycle *scores* when its summary had enough responses and all raters' mean exists for every
domain and element of the report's instrument: so a cell's n is the same for each domain and
element, one set of trainees per cell, which the audit (:mod:`.universe`) can reason about. A
cycle without a complete self-assessment scores for others' means but not for self against
others. Every other cycle counts in participation only.

The audit runs once per :class:`CohortAnalysis`, over every selection the cohort allows; each
:meth:`CohortAnalysis.report` then only looks its selection up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...instruments import Instrument
from . import stats as numbers
from .model import (
    DIMENSION_TITLES,
    DIMENSIONS,
    NOT_RECORDED,
    Breakdown,
    Cell,
    CohortReport,
    IntakePoint,
    Selection,
)
from .universe import ANY, CellKey, audit, open_dimensions

UNRECORDED = "\x00"  # a dimension's key for trainees with no value recorded
ALL_TRAINEES = Selection()


def dimension_key(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return UNRECORDED
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def headings(instrument: Instrument) -> list[numbers.Heading]:
    return [*(("domain", d.key, d.title, None) for d in instrument.domains),
            *(("element", e.key, e.title, d.key) for d in instrument.domains
              for e in d.elements)]


def scored_cycles(scores: pd.DataFrame, cycles: pd.DataFrame, instrument: Instrument
                  ) -> tuple[pd.Series, pd.Series]:
    """(scored, self-scored) flags indexed by cycle id (see the module docstring)."""
    wanted = pd.MultiIndex.from_tuples([(level, key) for level, key, _, _ in
                                        headings(instrument)], names=["level", "key"])
    rows = scores.set_index(["level", "key"])
    rows = rows[rows.index.isin(wanted)].reset_index()
    others = rows[rows["others_mean"].notna()].groupby("cycle_id").size()
    own = rows[rows["self_score"].notna()].groupby("cycle_id").size()
    ids = cycles.set_index("cycle_id")
    complete = others.reindex(ids.index, fill_value=0) == len(wanted)
    scored = complete & ids["enough"].astype(bool)
    self_scored = scored & (own.reindex(ids.index, fill_value=0) == len(wanted))
    return scored, self_scored


class CohortAnalysis:
    """One cohort's frames, audited once; :meth:`report` answers any selection.

    * ``trainees``: trainee_id, specialty, training_year, site — every trainee of the cohort;
    * ``cycles``: cycle_id, trainee_id, launch_id (or None), latest (bool), enough (bool),
      specialty, training_year, site (the trainee's as the cycle closed) — each trainee's most
      recent closed cycle, and each cycle a launch of the cohort opened;
    * ``scores``: cycle_id, level (domain/element), key, self_score, others_mean;
    * ``participation``: cycle_id, rater_group, invited, completed, declined;
    * ``launches``: the cohort's launch ids, most important first (the audit's order);
    * ``intakes``: for the trend, the same programme's cohorts (this one included):
      cohort, intake_year, current (bool), cycle_id, enough, level, key, self_score,
      others_mean, on each trainee's latest cycle.
    """

    def __init__(self, scores: pd.DataFrame, trainees: pd.DataFrame, cycles: pd.DataFrame,
                 participation: pd.DataFrame, instrument: Instrument, min_trainees: int, *,
                 launches: Sequence[int] = (), threshold: float = 1.0,
                 intakes: pd.DataFrame | None = None) -> None:
        self._settings(instrument, min_trainees, threshold)
        self.participation = participation
        self.choices: list[int | None] = [None, *launches]
        self.people = trainees.assign(**{d: trainees[d].map(dimension_key) for d in DIMENSIONS})
        # a cycle counts under the attributes it closed with, not the trainee's current ones
        frame = cycles.assign(**{d: cycles[d].map(dimension_key) for d in DIMENSIONS}).merge(
            self.people[["trainee_id"]], on="trainee_id", how="inner")
        for c, launch in enumerate(self.choices):
            frame[f"in_{c}"] = (frame["latest"].astype(bool) if launch is None
                                else frame["launch_id"].eq(launch).fillna(False).astype(bool))
        scored, self_scored = scored_cycles(scores, cycles, instrument)
        frame["scored"] = frame["cycle_id"].map(scored).fillna(False).astype(bool)
        frame["self_scored"] = frame["cycle_id"].map(self_scored).fillna(False).astype(bool)
        # only what reports read: so a stored analysis (``.stored``) keeps no dates
        kept = ["cycle_id", "trainee_id", "launch_id", "latest", "enough", *DIMENSIONS,
                *(f"in_{c}" for c in range(len(self.choices))), "scored", "self_scored"]
        self.frame = frame[[c for c in kept if c in frame.columns]]
        self.has_cycles = not cycles.empty
        self.admitted = audit(frame, len(self.choices), min_trainees)
        self.others, self.own = _matrices(scores, self.heads)
        self.trend = trend(intakes, instrument, min_trainees)

    # What :meth:`restored` needs besides the settings: all that the expensive part computed.
    PARTS = ("participation", "choices", "people", "frame", "has_cycles", "admitted", "others",
             "own", "trend")

    @classmethod
    def restored(cls, instrument: Instrument, min_trainees: int, threshold: float,
                 parts: dict[str, Any]) -> CohortAnalysis:
        """An analysis from the :attr:`PARTS` of one made earlier with the same settings
        (``scoring.cohort.stored`` keeps them): the same reports, without the audit."""
        made = cls.__new__(cls)
        made._settings(instrument, min_trainees, threshold)
        for name in cls.PARTS:
            setattr(made, name, parts[name])
        return made

    def _settings(self, instrument: Instrument, min_trainees: int, threshold: float) -> None:
        self.instrument, self.min_trainees, self.threshold = instrument, min_trainees, threshold
        self.heads = headings(instrument)
        self.edges = numbers.band_edges(instrument.scale.min, instrument.scale.max)

    def _base(self, selection: Selection) -> dict[str, object]:
        scale = self.instrument.scale
        return {"selection": selection, "min_trainees": self.min_trainees,
                "scale_min": scale.min, "scale_max": scale.max, "threshold": self.threshold,
                "band_labels": numbers.band_labels(scale.min, scale.max),
                "domain_titles": {d.key: d.title for d in self.instrument.domains},
                "has_cycles": self.has_cycles, "trend": self.trend}

    def key(self, selection: Selection) -> CellKey | None:
        if selection.launch_id not in self.choices:
            return None
        return (self.choices.index(selection.launch_id),
                tuple(dimension_key(v) if (v := selection.value(d)) is not None else ANY
                      for d in DIMENSIONS))

    def scored_cycle_ids(self, selection: Selection) -> list[int]:
        """The cycles behind the selection's scores, if they are shown (else none)."""
        key = self.key(selection)
        if key is None or key not in self.admitted["others"]:
            return []
        chosen = self.frame[_matching(self.frame, key) & self.frame["scored"]]
        return [int(i) for i in chosen["cycle_id"]]

    def self_scored_cycle_ids(self, selection: Selection) -> list[int]:
        """The cycles behind the selection's self against others, if it is shown (else none)."""
        key = self.key(selection)
        if key is None or key not in self.admitted["self"]:
            return []
        chosen = self.frame[_matching(self.frame, key) & self.frame["self_scored"]]
        return [int(i) for i in chosen["cycle_id"]]

    def report(self, selection: Selection = ALL_TRAINEES) -> CohortReport:
        base, m = self._base(selection), self.min_trainees
        key = self.key(selection)
        if key is None:
            return CohortReport(**base, message="There is no such launch for this cohort.",
                                participation=None)
        frame, matches = self.frame, _matching(self.frame, key)
        roster = self.people
        for d, v in zip(DIMENSIONS, key[1], strict=True):
            if v is not ANY:
                roster = roster[roster[d] == v]
        if not matches.any():
            return CohortReport(**base, participation=None, message=(
                "No trainee matching these filters has a closed feedback cycle yet."))
        if key not in self.admitted["participation"]:
            return CohortReport(**base, participation=None, message=(
                f"These filters would describe too few trainees (fewer than {m}, or few "
                "enough to be singled out by comparing with other filters). Choose wider "
                "filters."))
        chosen = frame[matches]
        counts = self.participation[self.participation["cycle_id"].isin(chosen["cycle_id"])]
        shown = numbers.participation(
            counts, [(g.key, g.label) for g in self.instrument.rater_groups],
            trainees=len(roster), launched=len(chosen), scored=int(chosen["scored"].sum()))
        if key not in self.admitted["others"]:
            return CohortReport(**base, participation=shown, message=(
                f"Scores are not shown: fewer than {m} of these trainees' cycles had enough "
                "responses, or showing them would single out a trainee."))
        with_scores = chosen[chosen["scored"]]["cycle_id"]
        with_self = chosen[chosen["self_scored"]]["cycle_id"]
        show_self = key in self.admitted["self"]
        rows = numbers.score_rows(
            self.heads, self.others.loc[with_scores].to_numpy(),
            self.own.loc[with_self].to_numpy() if show_self else None, self.edges)
        elements = tuple(r for r in rows if r.level == "element")
        weakest, strongest = numbers.priorities(elements)
        perception = (numbers.perception(self.heads, self.others.loc[with_self].to_numpy(),
                                         self.own.loc[with_self].to_numpy(), self.threshold)
                      if show_self else ())
        breakdowns = tuple(self._breakdown(key, d, roster) for d in open_dimensions(key))
        message = None if show_self else (
            "Self against others is not shown: too few of these trainees have a "
            "self-assessment, or showing it would single out a trainee.")
        return CohortReport(**base, participation=shown, message=message,
                            domains=tuple(r for r in rows if r.level == "domain"),
                            elements=elements, weakest=weakest, strongest=strongest,
                            perception=perception, breakdowns=breakdowns)

    def _breakdown(self, key: CellKey, dimension: str, roster: pd.DataFrame) -> Breakdown:
        index, m = DIMENSIONS.index(dimension), self.min_trainees
        cells = []
        closed_with = self.frame[_matching(self.frame, key)][dimension]
        values = sorted(set(roster[dimension]) | set(closed_with),
                        key=lambda v: (v == UNRECORDED, _natural(v)))
        for value in values:
            child: CellKey = (key[0], (*key[1][:index], value, *key[1][index + 1:]))
            filter_value = None if value == UNRECORDED else (
                int(value) if dimension == "training_year" else value)
            matches = _matching(self.frame, child) & self.frame["scored"]
            n = int(matches.sum())
            if child in self.admitted["others"]:
                ids = self.frame[matches]["cycle_id"]
                rows = numbers.score_rows(self.heads, self.others.loc[ids].to_numpy(), None,
                                          self.edges)
                cells.append(Cell(filter_value, label(dimension, value), n, None, rows))
            else:
                reason = (f"Fewer than {m} trainees" if n < m
                          else "Not shown (protects a smaller group)")
                cells.append(Cell(filter_value, label(dimension, value), None, reason))
        return Breakdown(dimension, DIMENSION_TITLES[dimension], tuple(cells))


def build_cohort_report(scores: pd.DataFrame, trainees: pd.DataFrame, cycles: pd.DataFrame,
                        participation: pd.DataFrame, instrument: Instrument,
                        min_trainees: int, *, selection: Selection = ALL_TRAINEES,
                        launches: Sequence[int] = (), threshold: float = 1.0,
                        intakes: pd.DataFrame | None = None) -> CohortReport:
    """The cohort report for ``selection`` (frames as :class:`CohortAnalysis` takes them)."""
    return CohortAnalysis(scores, trainees, cycles, participation, instrument, min_trainees,
                          launches=launches, threshold=threshold,
                          intakes=intakes).report(selection)


def _matching(frame: pd.DataFrame, key: CellKey) -> pd.Series:
    mask = frame[f"in_{key[0]}"].copy()
    for dimension, value in zip(DIMENSIONS, key[1], strict=True):
        if value is not ANY:
            mask &= frame[dimension] == value
    return mask


def _matrices(scores: pd.DataFrame, heads: list[numbers.Heading]
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(others, self) as cycles x headings."""
    columns = pd.MultiIndex.from_tuples([(level, key) for level, key, _, _ in heads])
    wide = scores.pivot_table(index="cycle_id", columns=["level", "key"],
                              values=["others_mean", "self_score"], aggfunc="first",
                              dropna=False)
    others = wide["others_mean"].reindex(columns=columns) if len(wide) else pd.DataFrame(
        columns=columns, dtype=float)
    own = wide["self_score"].reindex(columns=columns) if len(wide) else pd.DataFrame(
        columns=columns, dtype=float)
    return others.astype(float), own.astype(float)


def label(dimension: str, value: str) -> str:
    if value == UNRECORDED:
        return NOT_RECORDED
    return f"Year {value}" if dimension == "training_year" else value


def _natural(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 30, value.casefold())


def trend(intakes: pd.DataFrame | None, instrument: Instrument, min_trainees: int
          ) -> tuple[IntakePoint, ...]:
    """Domain means of all raters per intake (each cohort as a whole, on its trainees' latest
    cycles): the first set each cohort's own report admits, so nothing new is disclosed."""
    if intakes is None or intakes.empty:
        return ()
    heads = headings(instrument)
    points = []
    cohorts = intakes[["cohort", "intake_year", "current"]].drop_duplicates()
    cohorts = cohorts.sort_values(["intake_year", "cohort"], na_position="first")
    for cohort, year, current in cohorts.itertuples(index=False):
        rows = intakes[intakes["cohort"] == cohort]
        cycles = rows[["cycle_id", "enough"]].drop_duplicates("cycle_id")
        scored, _ = scored_cycles(rows, cycles, instrument)
        ids = scored[scored].index
        n = len(ids)
        year = None if pd.isna(year) else int(year)
        if n < min_trainees:
            points.append(IntakePoint(cohort, year, bool(current), None,
                                      f"Fewer than {min_trainees} trainees", {}))
            continue
        others, _ = _matrices(rows[rows["cycle_id"].isin(ids)], heads)
        means = {key: float(others[("domain", key)].mean())
                 for level, key, _, _ in heads if level == "domain"}
        points.append(IntakePoint(cohort, year, bool(current), n, None, means))
    return tuple(points)
