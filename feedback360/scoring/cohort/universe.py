"""Every set of trainees a cohort report could describe, and which of them it may.

The unit is a trainee's contribution through one cycle: for the report without a launch, each
trainee's most recent one ("latest"); for a launch, the cycle it opened for them; filtered by the
attributes the cycle closed with. Cells are each choice (latest, or one launch) crossed with every
filter combination that matches a cycle. The audit counts people: two cells that count a trainee
through different cycles differ in that trainee (:mod:`.disclosure`).

Two families of sets are audited apart, because they sum different per-cycle quantities:
participation (every cycle in scope: invitations, and whether it scored, which gives the n of the
scores) and scores (scored cycles: others' means; self against others on those with a
self-assessment). A cell's scores are admitted only after its participation, and self against
others only after its others' scores, so nothing is shown whose n is not.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .disclosure import Disclosure
from .model import DIMENSIONS

ANY = None
CellKey = tuple[int, tuple[str | None, ...]]  # (choice index, a key or ANY per dimension)
KINDS = ("participation", "others", "self")


@dataclass
class _Family:
    disclosure: Disclosure
    classes: dict[str, np.ndarray]  # per column (a class's slot): dimension keys and flags


def _family(frame: pd.DataFrame, flags: list[str], min_trainees: int) -> _Family:
    """Trainees grouped into classes: those every candidate set treats alike, that is with the
    same cycles (each cycle's attributes and the sets it counts in); a column per class and
    cycle, so that a trainee counted through one cycle here and another there is one trainee
    whose contribution differs (``disclosure``)."""
    columns = [*DIMENSIONS, *flags]
    slots_of: dict[object, list[tuple[object, ...]]] = {}
    for trainee, *values in frame[["trainee_id", *columns]].itertuples(index=False, name=None):
        slot = (*(str(v) for v in values[:len(DIMENSIONS)]),
                *(bool(v) for v in values[len(DIMENSIONS):]))
        if any(slot[len(DIMENSIONS):]):  # a cycle no set counts is no contribution
            slots_of.setdefault(trainee, []).append(slot)
    counts = Counter(tuple(sorted(slots)) for slots in slots_of.values())
    slots, owners, sizes = [], [], []
    for owner, signature in enumerate(sorted(counts)):
        for slot in signature:
            slots.append(slot)
            owners.append(owner)
            sizes.append(counts[signature])
    arrays = {c: np.array([slot[i] for slot in slots], dtype=bool if c in flags else object)
              for i, c in enumerate(columns)}
    disclosure = Disclosure(sizes, min_trainees, owners)
    # the same cycle slot in several classes: contributions no set tells apart, whose sum the
    # row space may hold even though no one class's does
    columns_of: dict[tuple[object, ...], list[int]] = {}
    for column, slot in enumerate(slots):
        columns_of.setdefault(slot, []).append(column)
    for alike in columns_of.values():
        if len(alike) > 1:
            vector = np.zeros(len(slots))
            vector[alike] = 1.0
            disclosure.watch(vector)
    return _Family(disclosure, arrays)


def _vector(family: _Family, values: tuple[str | None, ...], flag: str) -> np.ndarray:
    mask = family.classes[flag].copy()
    for dimension, value in zip(DIMENSIONS, values, strict=True):
        if value is not ANY:
            mask &= family.classes[dimension] == value
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


def parents(key: CellKey) -> list[tuple[CellKey, str]]:
    choice, values = key
    return [((choice, tuple(ANY if d == dimension else v for d, v in zip(DIMENSIONS, values,
                                                                          strict=True))),
             dimension) for dimension, value in zip(DIMENSIONS, values, strict=True)
            if value is not ANY]


def open_dimensions(key: CellKey) -> list[str]:
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
    part = _family(frame, in_flags, min_trainees)
    score_flags = [*(f"o_{c}" for c in range(choices)), *(f"s_{c}" for c in range(choices))]
    scores = _family(frame[frame["scored"]], score_flags, min_trainees)
    cells = _cells(frame, choices)
    vectors: dict[tuple[str, CellKey], np.ndarray] = {}
    for key in cells:
        vectors["participation", key] = _vector(part, key[1], f"in_{key[0]}")
        vectors["others", key] = _vector(scores, key[1], f"o_{key[0]}")
        vectors["self", key] = _vector(scores, key[1], f"s_{key[0]}")
    for (kind, _), vector in vectors.items():
        (part if kind == "participation" else scores).disclosure.watch(vector)
    for family, kinds in ((part, ("participation",)), (scores, ("others", "self"))):
        candidates = [vector for (kind, _), vector in vectors.items() if kind in kinds]
        if candidates:
            family.disclosure.watch_differences(np.unique(np.array(candidates), axis=0))

    def importance(key: CellKey) -> tuple[Hashable, ...]:
        size = part.disclosure.size(vectors["participation", key])
        return (len(DIMENSIONS) - len(open_dimensions(key)), key[0], -size, str(key[1]))

    admitted: dict[str, set[CellKey]] = {"participation": set(), "others": set(), "self": set()}
    for key in sorted(cells, key=importance):
        # others only where participation is admitted, self only where others is
        for kind, family in (("participation", part), ("others", scores), ("self", scores)):
            if not family.disclosure.admit(
                    (kind, key), vectors[kind, key],
                    parents=[((kind, parent), d) for parent, d in parents(key)],
                    dimensions=open_dimensions(key)):
                break
            admitted[kind].add(key)
    return admitted
