"""Which cells of any breakdown of trainees may be shown, by the cohort report's rules.

The cohort report decides its cells with :mod:`.cohort.universe`, which knows the report's own
dimensions and kinds of figure. Time-unavailable reports, affordances and the champion's
figures break trainees down by other things (site, department, specialty, a quarter), so this
module applies the same audit (:class:`.cohort.disclosure.Disclosure`) to any dimensions:

* ``frame`` has one row per *contribution*: one trainee's figures for one choice (a period, a
  launch, "all time"), with ``trainee_id``, the dimension columns (a missing value is its own
  category, :data:`NOT_RECORDED`) and a boolean ``in_<i>`` column per choice ``i`` saying
  whether the row counts in that choice. A trainee has at most one row per choice; give them
  one set of attributes for it (e.g. their latest placement in the period).
* A *cell* is ``(choice, values)``: ``values`` fixes some dimensions and leaves the others
  :data:`ANY`. Every cell that matches a row is a candidate, offered in a fixed order of
  importance (each choice's whole set first, then cells fixing one dimension, then two, ...;
  larger first), and admitted only if it has ``min_trainees`` trainees and nothing about fewer
  than that becomes derivable from the admitted cells' sums: no small cell, no remainder of a
  breakdown (complementary suppression), no difference between two reachable selections.

What a caller shows for an admitted cell must be a sum over its rows (counts, totals, means with
their n); anything else (a median, a maximum) needs its own argument.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from .cohort.disclosure import Disclosure

ANY = None
NOT_RECORDED = ""
Cell = tuple[int, tuple[str | None, ...]]


def _keys(column: pd.Series) -> np.ndarray:
    return np.array([NOT_RECORDED if pd.isna(v) else str(v) for v in column], dtype=object)


def _disclosure(frame: pd.DataFrame, dimensions: Sequence[str], flags: Sequence[str],
                min_trainees: int) -> tuple[Disclosure, dict[str, np.ndarray]]:
    """Trainees grouped into classes that every candidate treats alike (the same rows with the
    same attributes and flags): a column per class and row, so thousands of trainees stay a
    small matrix."""
    keyed = {d: _keys(frame[d]) for d in dimensions}
    slots_of: dict[Hashable, list[tuple[object, ...]]] = {}
    for position, trainee in enumerate(frame["trainee_id"]):
        slot = (*(keyed[d][position] for d in dimensions),
                *(bool(frame[f].iat[position]) for f in flags))
        if any(slot[len(dimensions):]):  # a row no choice counts is no contribution
            slots_of.setdefault(trainee, []).append(slot)
    counts = Counter(tuple(sorted(slots, key=repr)) for slots in slots_of.values())
    slots, owners, sizes = [], [], []
    for owner, signature in enumerate(sorted(counts, key=repr)):
        for slot in signature:
            slots.append(slot)
            owners.append(owner)
            sizes.append(counts[signature])
    columns = [*dimensions, *flags]
    arrays = {c: np.array([slot[i] for slot in slots], dtype=bool if c in flags else object)
              for i, c in enumerate(columns)}
    disclosure = Disclosure(sizes, min_trainees, owners)
    # the same slot in several classes: contributions no candidate tells apart, whose sum the
    # admitted sets may hold even though no one class's does
    columns_of: dict[tuple[object, ...], list[int]] = {}
    for column, slot in enumerate(slots):
        columns_of.setdefault(slot, []).append(column)
    for alike in columns_of.values():
        if len(alike) > 1:
            vector = np.zeros(len(slots))
            vector[alike] = 1.0
            disclosure.watch(vector)
    return disclosure, arrays


def _cells(frame: pd.DataFrame, dimensions: Sequence[str], choices: int,
           max_fixed: int) -> list[Cell]:
    keyed = pd.DataFrame({d: _keys(frame[d]) for d in dimensions}, index=frame.index)
    found: list[Cell] = []
    for choice in range(choices):
        chosen = keyed[frame[f"in_{choice}"].astype(bool)]
        for fixed in range(min(max_fixed, len(dimensions)) + 1):
            for combination in itertools.combinations(dimensions, fixed):
                tuples = (chosen[list(combination)].drop_duplicates().itertuples(index=False)
                          if combination else ([()] if len(chosen) else []))
                for values in tuples:
                    given = dict(zip(combination, values, strict=True))
                    found.append((choice, tuple(given.get(d, ANY) for d in dimensions)))
    return found


def _parents(cell: Cell, dimensions: Sequence[str]) -> list[tuple[Cell, str]]:
    choice, values = cell
    return [((choice, tuple(ANY if d == dimension else v
                            for d, v in zip(dimensions, values, strict=True))), dimension)
            for dimension, value in zip(dimensions, values, strict=True) if value is not ANY]


def _open(cell: Cell, dimensions: Sequence[str]) -> list[str]:
    return [d for d, v in zip(dimensions, cell[1], strict=True) if v is ANY]


def admitted_cells(frame: pd.DataFrame, *, dimensions: Sequence[str], choices: int,
                   min_trainees: int, max_fixed: int | None = None) -> set[Cell]:
    """The cells of ``frame`` (module docstring) that may be shown. ``max_fixed`` limits how
    many dimensions a cell may fix at once (all of them by default); cells a page cannot reach
    need not be offered, but every one it can reach must be."""
    dimensions = list(dimensions)
    flags = [f"in_{c}" for c in range(choices)]
    if frame.empty:
        return set()
    disclosure, classes = _disclosure(frame, dimensions, flags, min_trainees)
    cells = _cells(frame, dimensions, choices,
                   len(dimensions) if max_fixed is None else max_fixed)
    vectors: dict[Cell, np.ndarray] = {}
    for cell in cells:
        mask = classes[f"in_{cell[0]}"].copy()
        for dimension, value in zip(dimensions, cell[1], strict=True):
            if value is not ANY:
                mask &= classes[dimension] == value
        vectors[cell] = mask.astype(float)
        disclosure.watch(vectors[cell])
    if vectors:
        disclosure.watch_differences(np.unique(np.array(list(vectors.values())), axis=0))

    def importance(cell: Cell) -> tuple[Hashable, ...]:
        return (len(dimensions) - len(_open(cell, dimensions)), cell[0],
                -disclosure.size(vectors[cell]), repr(cell[1]))

    admitted: set[Cell] = set()
    for cell in sorted(cells, key=importance):
        if disclosure.admit(cell, vectors[cell], parents=_parents(cell, dimensions),
                            dimensions=_open(cell, dimensions)):
            admitted.add(cell)
    return admitted


def cell_rows(frame: pd.DataFrame, cell: Cell, dimensions: Sequence[str]) -> pd.Series:
    """Which rows of ``frame`` a cell sums over."""
    choice, values = cell
    mask = frame[f"in_{choice}"].astype(bool)
    for dimension, value in zip(dimensions, values, strict=True):
        if value is not ANY:
            mask &= pd.Series(_keys(frame[dimension]), index=frame.index) == value
    return mask
