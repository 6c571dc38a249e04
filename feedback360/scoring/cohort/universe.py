"""Every set of trainees a cohort report could describe, and which of them it may.

The unit is a trainee's cycle: for the report without a launch, each trainee's most recent one
("latest"); for a launch, the cycle it opened for them. Cells are each choice (latest, or one
launch) crossed with every filter combination that matches a cycle.

Two families of sets are audited apart, because they sum different per-cycle quantities:
participation (every cycle in scope: invitations, and whether it scored, which gives the n of the
scores) and scores (scored cycles: others' means; self against others on those with a
self-assessment). A cell's scores are admitted only after its participation, and self against
others only after its others' scores, so nothing is shown whose n is not.
"""

from __future__ import annotations

import itertools
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
    classes: dict[str, np.ndarray]  # per class: dimension keys and membership flags


def _family(frame: pd.DataFrame, flags: list[str], min_trainees: int) -> _Family:
    """Cycles grouped into classes: those every candidate set treats alike."""
    columns = [*DIMENSIONS, *flags]
    if frame.empty:
        classes = pd.DataFrame(columns=[*columns, "size"])
    else:
        classes = frame.groupby(columns, sort=True, dropna=False).size().rename(
            "size").reset_index()
    arrays = {c: classes[c].to_numpy(dtype=bool if c in flags else object) for c in columns}
    return _Family(Disclosure(classes["size"].astype(int), min_trainees), arrays)


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
