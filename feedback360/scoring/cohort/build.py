"""Build a CohortReport from narrow frames (see :func:`build_cohort_report` for their columns).

The unit is a trainee's cycle: for the report without a launch, each trainee's most recent one
("latest"); for a launch, the cycle it opened for them. A cycle *scores* when its summary had
enough responses and all raters' mean exists for every domain and element of the report's
instrument: so each cell's n is the same for every domain and element, one set of trainees per
cell, which the audit can reason about. A cycle without a complete self-assessment scores for
others' means but not for self against others. Every other cycle counts in participation only.

Two families of sets are audited apart, because they sum different per-cycle quantities:
participation (every cycle in scope: invitations, and whether it scored, which gives the n of the
scores) and scores (scored cycles; others' means, and self against others on the cycles with a
self-assessment). A cell's scores are shown only where its participation is, and self against
others only where its others' scores are.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...instruments import Instrument
from . import stats as numbers
from .disclosure import Disclosure
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

UNRECORDED = "\x00"  # a dimension's key for trainees with no value recorded
ANY = None
ALL_TRAINEES = Selection()
CellKey = tuple[int, tuple[str | None, ...]]  # (choice index, a key or ANY per dimension)


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


@dataclass
class _Family:
    disclosure: Disclosure
    classes: pd.DataFrame  # one row per class: dimension keys and membership flags


def _family(frame: pd.DataFrame, flags: list[str], min_trainees: int
            ) -> tuple[_Family, pd.Series]:
    columns = [*DIMENSIONS, *flags]
    if frame.empty:
        classes = pd.DataFrame(columns=[*columns, "size"])
        ids = pd.Series(dtype=int)
    else:
        grouped = frame.groupby(columns, sort=True, dropna=False)
        ids = grouped.ngroup()
        classes = grouped.size().rename("size").reset_index()
    return _Family(Disclosure(classes["size"].astype(int), min_trainees), classes), ids


def _vector(family: _Family, choice: int, values: tuple[str | None, ...], flag: str
            ) -> np.ndarray:
    classes = family.classes
    mask = classes[flag].to_numpy(dtype=bool, copy=True)
    for dimension, value in zip(DIMENSIONS, values, strict=True):
        if value is not ANY:
            mask &= classes[dimension].to_numpy() == value
    return mask.astype(float)


def _cells(frame: pd.DataFrame, choices: int) -> list[CellKey]:
    """Every non-empty cell: each choice x each filter combination that matches a cycle."""
    found: list[CellKey] = []
    for choice in range(choices):
        chosen = frame[frame[f"in_{choice}"]]
        for fixed in range(len(DIMENSIONS) + 1):
            for dimensions in itertools.combinations(DIMENSIONS, fixed):
                tuples = (chosen[list(dimensions)].drop_duplicates().itertuples(index=False)
                          if dimensions else ([()] if len(chosen) else []))
                for values in tuples:
                    given = dict(zip(dimensions, values, strict=True))
                    found.append((choice, tuple(given.get(d, ANY) for d in DIMENSIONS)))
    return found


def _parents(key: CellKey) -> list[tuple[CellKey, str]]:
    choice, values = key
    return [((choice, tuple(ANY if d == dimension else v for d, v in zip(DIMENSIONS, values,
                                                                          strict=True))),
             dimension) for dimension, value in zip(DIMENSIONS, values, strict=True)
            if value is not ANY]


def _open(key: CellKey) -> list[str]:
    return [d for d, v in zip(DIMENSIONS, key[1], strict=True) if v is ANY]


def audit(frame: pd.DataFrame, choices: int, min_trainees: int) -> dict[str, set[CellKey]]:
    """Which cells each kind of set is admitted for: "participation", "others", "self".

    ``frame``: one row per cycle in scope with the dimension keys, ``in_<choice>`` flags and
    ``scored``/``self_scored``. The order of importance: the whole selection of every choice,
    then cells fixing one dimension, then two, then three; within those, larger first.
    """
    in_flags = [f"in_{c}" for c in range(choices)]
    frame = frame.copy()
    for c in range(choices):
        frame[f"o_{c}"] = frame[f"in_{c}"] & frame["scored"]
        frame[f"s_{c}"] = frame[f"in_{c}"] & frame["self_scored"]
    part, _ = _family(frame, in_flags, min_trainees)
    score_flags = [*(f"o_{c}" for c in range(choices)), *(f"s_{c}" for c in range(choices))]
    scores, _ = _family(frame[frame["scored"]], score_flags, min_trainees)
    cells = _cells(frame, choices)
    vectors: dict[tuple[str, CellKey], np.ndarray] = {}
    for key in cells:
        vectors["participation", key] = _vector(part, key[0], key[1], f"in_{key[0]}")
        vectors["others", key] = _vector(scores, key[0], key[1], f"o_{key[0]}")
        vectors["self", key] = _vector(scores, key[0], key[1], f"s_{key[0]}")
    for (kind, _), vector in vectors.items():
        (part if kind == "participation" else scores).disclosure.watch(vector)

    def importance(key: CellKey) -> tuple[Hashable, ...]:
        size = part.disclosure.size(vectors["participation", key])
        return (len(DIMENSIONS) - len(_open(key)), key[0], -size, str(key[1]))

    admitted: dict[str, set[CellKey]] = {"participation": set(), "others": set(), "self": set()}
    for key in sorted(cells, key=importance):
        # others only where participation is admitted, self only where others is
        for kind, family in (("participation", part), ("others", scores), ("self", scores)):
            if not family.disclosure.admit(
                    (kind, key), vectors[kind, key],
                    parents=[((kind, parent), d) for parent, d in _parents(key)],
                    dimensions=_open(key)):
                break
            admitted[kind].add(key)
    return admitted


def build_cohort_report(scores: pd.DataFrame, trainees: pd.DataFrame, cycles: pd.DataFrame,
                        participation: pd.DataFrame, instrument: Instrument,
                        min_trainees: int, *, selection: Selection = ALL_TRAINEES,
                        launches: Sequence[int] = (), threshold: float = 1.0,
                        intakes: pd.DataFrame | None = None) -> CohortReport:
    """The cohort report for ``selection``, the audit run over every possible selection.

    * ``trainees``: trainee_id, specialty, training_year, site — every trainee of the cohort;
    * ``cycles``: cycle_id, trainee_id, launch_id (or None), latest (bool), enough (bool) — each
      trainee's most recent closed cycle, and each cycle a launch of the cohort opened;
    * ``scores``: cycle_id, level (domain/element), key, self_score, others_mean;
    * ``participation``: cycle_id, rater_group, invited, completed, declined;
    * ``launches``: the cohort's launch ids, most important first (the audit's order);
    * ``intakes``: for the trend, the same programme's cohorts (this one included):
      cohort, intake_year, current (bool), cycle_id, enough, level, key, self_score, others_mean,
      on each trainee's latest cycle.
    """
    heads = headings(instrument)
    edges = numbers.band_edges(instrument.scale.min, instrument.scale.max)
    base = {"selection": selection, "min_trainees": min_trainees,
            "scale_min": instrument.scale.min, "scale_max": instrument.scale.max,
            "threshold": threshold, "band_labels": numbers.band_labels(instrument.scale.min,
                                                                        instrument.scale.max),
            "domain_titles": {d.key: d.title for d in instrument.domains},
            "has_cycles": not cycles.empty,
            "trend": trend(intakes, instrument, min_trainees)}
    choices = [None, *launches]
    if selection.launch_id not in choices:
        return CohortReport(**base, message="There is no such launch for this cohort.",
                            participation=None)
    choice = choices.index(selection.launch_id)
    people = trainees.assign(**{d: trainees[d].map(dimension_key) for d in DIMENSIONS})
    frame = cycles.merge(people, on="trainee_id", how="inner")
    for c, launch in enumerate(choices):
        frame[f"in_{c}"] = (frame["latest"].astype(bool) if launch is None
                            else frame["launch_id"].eq(launch).fillna(False).astype(bool))
    scored, self_scored = scored_cycles(scores, cycles, instrument)
    frame["scored"] = frame["cycle_id"].map(scored).fillna(False).astype(bool)
    frame["self_scored"] = frame["cycle_id"].map(self_scored).fillna(False).astype(bool)
    admitted = audit(frame, len(choices), min_trainees)

    wanted = tuple(dimension_key(selection.value(d)) if selection.value(d) is not None else ANY
                   for d in DIMENSIONS)
    key: CellKey = (choice, wanted)
    matches = _matching(frame, key)
    roster = people
    for d, v in zip(DIMENSIONS, wanted, strict=True):
        if v is not ANY:
            roster = roster[roster[d] == v]
    if not matches.any():
        return CohortReport(**base, participation=None, message=(
            "No trainee matching these filters has a closed feedback cycle yet."))
    if key not in admitted["participation"]:
        return CohortReport(**base, participation=None, message=(
            f"These filters would describe too few trainees (fewer than {min_trainees}, or few "
            "enough to be singled out by comparing with other filters). Choose wider filters."))
    chosen = frame[matches]
    counts = participation[participation["cycle_id"].isin(chosen["cycle_id"])]
    shown = numbers.participation(
        counts, [(g.key, g.label) for g in instrument.rater_groups], trainees=len(roster),
        launched=len(chosen), scored=int(chosen["scored"].sum()))
    if key not in admitted["others"]:
        return CohortReport(**base, participation=shown, message=(
            f"Scores are not shown: fewer than {min_trainees} of these trainees' cycles had "
            "enough responses, or showing them would single out a trainee."))
    others, own = _matrices(scores, heads)
    with_scores = chosen[chosen["scored"]]["cycle_id"]
    with_self = chosen[chosen["self_scored"]]["cycle_id"]
    show_self = key in admitted["self"]
    rows = numbers.score_rows(heads, others.loc[with_scores].to_numpy(),
                              own.loc[with_self].to_numpy() if show_self else None, edges)
    domains = tuple(r for r in rows if r.level == "domain")
    elements = tuple(r for r in rows if r.level == "element")
    weakest, strongest = numbers.priorities(elements)
    perception = (numbers.perception(heads, others.loc[with_self].to_numpy(),
                                     own.loc[with_self].to_numpy(), threshold)
                  if show_self else ())
    breakdowns = tuple(_breakdown(frame, people, key, d, admitted["others"], others, heads,
                                  edges, min_trainees, roster) for d in _open(key))
    message = None if show_self else (
        "Self against others is not shown: too few of these trainees have a self-assessment.")
    return CohortReport(**base, participation=shown, message=message, domains=domains,
                        elements=elements, weakest=weakest, strongest=strongest,
                        perception=perception, breakdowns=breakdowns)


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


def _breakdown(frame: pd.DataFrame, people: pd.DataFrame, key: CellKey, dimension: str,
               shown: set[CellKey], others: pd.DataFrame, heads: list[numbers.Heading],
               edges: Sequence[float], min_trainees: int, roster: pd.DataFrame) -> Breakdown:
    index = DIMENSIONS.index(dimension)
    cells = []
    values = sorted(set(roster[dimension]), key=lambda v: (v == UNRECORDED, _natural(v)))
    for value in values:
        child: CellKey = (key[0], (*key[1][:index], value, *key[1][index + 1:]))
        filter_value = None if value == UNRECORDED else (
            int(value) if dimension == "training_year" else value)
        matches = _matching(frame, child) & frame["scored"]
        n = int(matches.sum())
        if child in shown:
            ids = frame[matches]["cycle_id"]
            rows = numbers.score_rows(heads, others.loc[ids].to_numpy(), None, edges)
            cells.append(Cell(filter_value, label(dimension, value), n, None, rows))
        else:
            reason = (f"Fewer than {min_trainees} trainees" if n < min_trainees
                      else "Not shown (protects a smaller group)")
            cells.append(Cell(filter_value, label(dimension, value), None, reason))
    return Breakdown(dimension, DIMENSION_TITLES[dimension], tuple(cells))


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
