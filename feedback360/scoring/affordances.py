"""Workplace affordances in the cohort report (issue 14, point 3): pure pandas/numpy.

What trainees say about their placements, by site, department and specialty, and the activities
they log there, under the cohort report's disclosure control (:mod:`.breakdowns`): every shown
figure is a sum over an admitted set of at least ``min_trainees`` trainees, no hidden cell can
be recovered from the shown ones and their totals, and no two shown sets differ by 1..k-1
trainees. All these figures go through *one* audit, each affordance item (and the overall
affordance, and the activity count) being a choice of its own: a lead cannot difference "site X
on item A" against "site X on item B" to learn who answered "does not apply".

Each trainee counts once per figure: affordances through their most recent answer (about the
placement it is about), activities through their current (latest) placement. The change in 360
scores against affordances is :mod:`.affordance_change`.

Bands are thirds of the questionnaire's scale, never quantiles of the answers: a quantile's
cut point is one trainee's own answer, which no sum-based audit protects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .breakdowns import ANY, NOT_RECORDED, admitted_cells

DIMENSIONS = ("site", "unit", "specialty")
DIMENSION_TITLES = {"site": "Site", "unit": "Department", "specialty": "Specialty"}
OVERALL = "overall"  # a trainee's mean over the items they answered: the placement's affordance
OVERALL_TITLE = "All affordances (each trainee's average)"
WEAKEST_SITES = 3


@dataclass(frozen=True)
class Item:
    key: str
    title: str  # short, for headings
    text: str = ""  # the statement trainees answered


@dataclass(frozen=True)
class Scale:
    """The questionnaire's scale, cut into thirds for the bands (and the change's groups)."""

    min: int
    max: int

    @property
    def edges(self) -> tuple[float, float]:
        third = (self.max - self.min) / 3
        return (self.min + third, self.min + 2 * third)

    @property
    def band_labels(self) -> tuple[str, str, str]:
        low, high = self.edges
        return (f"Low (below {low:.3g})", f"Middle ({low:.3g} to under {high:.3g})",
                f"High ({high:.3g} or above)")

    def band(self, values: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(self.edges), values, side="right")


@dataclass(frozen=True)
class ItemStats:
    n: int
    mean: float
    bands: tuple[int, int, int]


@dataclass(frozen=True)
class ActivityStats:
    n: int  # trainees
    per_trainee: float
    with_any: int  # trainees who logged at least one


@dataclass(frozen=True)
class Group:
    """One cell of a breakdown: its figures, each None where the audit hides it."""

    key: str  # the value of the dimension it fixes ("" for the whole selection)
    label: str
    items: Mapping[str, ItemStats | None]  # OVERALL first, then each item in order
    activities: ActivityStats | None

    @property
    def n(self) -> int | None:
        overall = self.items.get(OVERALL)
        return overall.n if overall is not None else None


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    title: str
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class WeakSite:
    label: str
    n: int
    mean: float
    weakest_item: tuple[str, float] | None  # (title, mean) of its lowest shown item
    departments: tuple[tuple[str, int, float], ...]  # shown departments, lowest first


@dataclass(frozen=True)
class AffordanceFigures:
    min_trainees: int
    scale: Scale
    items: tuple[Item, ...]
    total: Group
    breakdowns: tuple[Breakdown, ...]
    weakest: tuple[WeakSite, ...]

    @property
    def columns(self) -> tuple[Item, ...]:
        return (Item(OVERALL, OVERALL_TITLE), *self.items)


def audit_frame(responses: pd.DataFrame, answers: pd.DataFrame, activities: pd.DataFrame,
                items: Sequence[Item]) -> tuple[pd.DataFrame, dict[tuple[str, str], int]]:
    """The one frame the audit reads: a row per trainee's latest response (flags per item it
    answered) and a row per trainee's latest placement (the activities flag); and each figure's
    choice index, by (kind, key)."""
    keys = [OVERALL, *(item.key for item in items)]
    choice = {("item", key): i for i, key in enumerate(keys)} | {("activities", ""): len(keys)}
    answered = answers.dropna(subset=["score"])
    scored = set(zip(answered["response_id"], answered["item"], strict=True))
    rows = []
    for row in responses.itertuples(index=False):
        flags = [(row.response_id, key) in scored for key in keys[1:]]
        rows.append((row.trainee_id, row.site, row.unit, row.specialty, any(flags), *flags,
                     False))
    for row in activities.itertuples(index=False):
        rows.append((row.trainee_id, row.site, row.unit, row.specialty,
                     *([False] * len(keys)), True))
    frame = pd.DataFrame(rows, columns=["trainee_id", *DIMENSIONS,
                                        *(f"in_{i}" for i in range(len(choice)))])
    for dimension in DIMENSIONS:
        frame[dimension] = frame[dimension].map(_key)
    return frame, choice


def _key(value: object) -> str:
    return NOT_RECORDED if value is None or pd.isna(value) else str(value)


def per_trainee_scores(responses: pd.DataFrame, answers: pd.DataFrame,
                       items: Sequence[Item]) -> pd.DataFrame:
    """Trainees x (OVERALL and each item): their latest response's scores, NaN where none."""
    answered = answers.dropna(subset=["score"])
    wide = answered.pivot_table(index="response_id", columns="item", values="score",
                                aggfunc="first")
    wide = wide.reindex(columns=[item.key for item in items])
    wide.insert(0, OVERALL, wide.mean(axis=1))
    by_trainee = responses.set_index("response_id")["trainee_id"]
    wide = wide.reindex(by_trainee.index)
    wide.index = by_trainee.to_numpy()
    return wide.astype(float)


def build_figures(responses: pd.DataFrame, answers: pd.DataFrame, activities: pd.DataFrame,
                  items: Sequence[Item], scale: Scale, labels: Mapping[str, Mapping[str, str]],
                  units: Mapping[str, tuple[str, str]], min_trainees: int
                  ) -> AffordanceFigures:
    """``responses``: each trainee's latest affordances response (trainee_id, response_id,
    site, unit, specialty: the placement it is about); ``answers``: response_id, item, score
    (NaN for "does not apply"); ``activities``: each trainee's latest placement (trainee_id,
    site, unit, specialty, activities: how many they logged in it); ``labels``: per dimension,
    each key's label; ``units``: each department's (site key, name)."""
    frame, choice = audit_frame(responses, answers, activities, items)
    admitted = admitted_cells(frame, dimensions=DIMENSIONS, choices=len(choice),
                              min_trainees=min_trainees, max_fixed=1)
    scores = per_trainee_scores(responses, answers, items)
    counts = activities.assign(**{d: activities[d].map(_key) for d in DIMENSIONS})
    keyed = responses.assign(**{d: responses[d].map(_key) for d in DIMENSIONS})
    keys = [OVERALL, *(item.key for item in items)]

    def group(values: tuple[str | None, ...], key: str, label: str) -> Group:
        chosen = keyed
        placed = counts
        for dimension, value in zip(DIMENSIONS, values, strict=True):
            if value is not ANY:
                chosen = chosen[chosen[dimension] == value]
                placed = placed[placed[dimension] == value]
        mine = scores.loc[chosen["trainee_id"].to_numpy()]
        shown: dict[str, ItemStats | None] = {}
        for item in keys:
            if (choice["item", item], values) not in admitted:
                shown[item] = None
                continue
            column = mine[item].dropna().to_numpy()
            bands = np.bincount(scale.band(column), minlength=3)
            shown[item] = ItemStats(len(column), float(column.mean()),
                                   (int(bands[0]), int(bands[1]), int(bands[2])))
        activity = None
        if (choice["activities", ""], values) in admitted:
            logged = placed["activities"].to_numpy(dtype=float)
            activity = ActivityStats(len(logged), float(logged.mean()), int((logged > 0).sum()))
        return Group(key, label, shown, activity)

    total = group((ANY,) * len(DIMENSIONS), "", "All trainees")
    breakdowns = []
    for position, dimension in enumerate(DIMENSIONS):
        values = sorted(set(frame[dimension]),
                        key=lambda v: (v == NOT_RECORDED,
                                       labels.get(dimension, {}).get(v, v).casefold()))
        groups = []
        for value in values:
            cell = tuple(value if i == position else ANY for i in range(len(DIMENSIONS)))
            groups.append(group(cell, value, labels.get(dimension, {}).get(value, value)
                                if value != NOT_RECORDED else "Not recorded"))
        breakdowns.append(Breakdown(dimension, DIMENSION_TITLES[dimension], tuple(groups)))
    unranked = AffordanceFigures(min_trainees, scale, tuple(items), total, tuple(breakdowns), ())
    return dataclasses.replace(unranked, weakest=weakest_sites(unranked, units))


def weakest_sites(figures: AffordanceFigures, units: Mapping[str, tuple[str, str]]
                  ) -> tuple[WeakSite, ...]:
    """The shown sites whose overall affordance is below the whole selection's, lowest first
    (at most :data:`WEAKEST_SITES`), each with its lowest shown item and shown departments."""
    by = {b.dimension: b for b in figures.breakdowns}
    shown = [g for g in by["site"].groups if g.items.get(OVERALL) is not None
             and g.key != NOT_RECORDED]
    if len(shown) < 2:  # one site is the whole selection: nothing to compare it with
        return ()
    average = figures.total.items.get(OVERALL)
    if average is None:
        return ()
    shown = sorted((g for g in shown if g.items[OVERALL].mean < average.mean),  # type: ignore[union-attr]
                   key=lambda g: (g.items[OVERALL].mean, g.label))  # type: ignore[union-attr]
    titles = {item.key: item.title for item in figures.items}
    weak = []
    for site in shown[:WEAKEST_SITES]:
        items = [(titles[k], s.mean) for k, s in site.items.items()
                 if k != OVERALL and s is not None]
        departments = sorted(
            ((units[g.key][1], g.items[OVERALL].n, g.items[OVERALL].mean)  # type: ignore[union-attr]
             for g in by["unit"].groups if g.items.get(OVERALL) is not None
             and g.key in units and units[g.key][0] == site.key),
            key=lambda d: (d[2], d[0]))
        overall = site.items[OVERALL]
        assert overall is not None
        weak.append(WeakSite(site.label, overall.n, overall.mean,
                             min(items, key=lambda i: (i[1], i[0])) if items else None,
                             tuple(departments)))
    return tuple(weak)
