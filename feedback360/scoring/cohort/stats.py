"""The numbers of one admitted set: distributions, self against others, participation.

Every figure here is a sum over the set's trainees of some per-trainee quantity (a score, its
square, a band or over-rating indicator, invitation counts) divided by n, which is what makes the
linear audit of :mod:`.disclosure` cover them all. Order statistics (median, quartiles, minimum,
maximum) are deliberately absent: each is one trainee's own value, which no sum-based audit
protects; score bands describe the spread instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .model import GroupParticipation, Participation, Perception, ScoreRow, Stats

# (level, key, title, parent) of each domain and element, in instrument order
Heading = tuple[str, str, str, str | None]


def band_edges(scale_min: int, scale_max: int) -> tuple[float, ...]:
    """Inner edges of the score bands: below max-2, max-2 up to max-1, max-1 and above
    (on a 1 to 5 scale: below 3, 3 to under 4, 4 or above)."""
    edges = [float(scale_max - 2), float(scale_max - 1)]
    return tuple(edge for edge in edges if scale_min < edge <= scale_max)


def band_labels(scale_min: int, scale_max: int) -> tuple[str, ...]:
    edges = band_edges(scale_min, scale_max)
    if not edges:
        return (f"{scale_min} to {scale_max}",)
    labels = [f"Below {edges[0]:g}"]
    labels += [f"{low:g} to under {high:g}" for low, high in itertools.pairwise(edges)]
    labels.append(f"{edges[-1]:g} or above")
    return tuple(labels)


def stats(values: np.ndarray, edges: Sequence[float]) -> Stats:
    n = len(values)
    sd = float(np.std(values, ddof=1)) if n > 1 else None
    bands = np.bincount(np.searchsorted(np.asarray(edges), values, side="right"),
                        minlength=len(edges) + 1)
    return Stats(n=n, mean=float(np.mean(values)), sd=sd, bands=tuple(int(b) for b in bands))


def score_rows(headings: Sequence[Heading], others: np.ndarray, own: np.ndarray | None,
               edges: Sequence[float]) -> tuple[ScoreRow, ...]:
    """One row per heading; ``others``/``own`` are (trainees x headings) without gaps."""
    return tuple(ScoreRow(level, key, title, parent, stats(others[:, i], edges),
                          stats(own[:, i], edges) if own is not None else None)
                 for i, (level, key, title, parent) in enumerate(headings))


def perception(headings: Sequence[Heading], others: np.ndarray, own: np.ndarray,
               threshold: float) -> tuple[Perception, ...]:
    gaps = own - others
    rows = []
    for i, (level, key, title, parent) in enumerate(headings):
        rows.append(Perception(
            level, key, title, parent, n=len(gaps), self_mean=float(own[:, i].mean()),
            others_mean=float(others[:, i].mean()), gap=float(gaps[:, i].mean()),
            over=int((gaps[:, i] >= threshold - 1e-9).sum()),
            under=int((gaps[:, i] <= -threshold + 1e-9).sum())))
    return tuple(rows)


def participation(counts: pd.DataFrame, groups: Sequence[tuple[str, str]], *, trainees: int,
                  launched: int, scored: int) -> Participation:
    """``counts``: the set's invitations summed by rater group (invited, completed, declined)."""
    totals = counts.groupby("rater_group")[["invited", "completed", "declined"]].sum()
    known = [key for key, _ in groups]
    labels = dict(groups) | {key: key for key in totals.index if key not in known}
    rows = tuple(GroupParticipation(key, labels[key], *(int(totals.at[key, c]) for c in
                                                        ("invited", "completed", "declined")))
                 for key in [*known, *sorted(set(totals.index) - set(known))]
                 if key in totals.index)
    total = GroupParticipation("all", "All rater groups", sum(r.invited for r in rows),
                               sum(r.completed for r in rows), sum(r.declined for r in rows))
    return Participation(trainees=trainees, launched=launched, scored=scored, groups=rows,
                         total=total)


def priorities(elements: Sequence[ScoreRow], count: int = 3
               ) -> tuple[tuple[ScoreRow, ...], tuple[ScoreRow, ...]]:
    """The weakest and the strongest elements by others' mean (ties by instrument order)."""
    count = min(count, len(elements) // 2)
    order = sorted(range(len(elements)), key=lambda i: (elements[i].others.mean, i))
    weakest = tuple(elements[i] for i in order[:count])
    strongest = tuple(elements[i] for i in sorted(order[len(order) - count:],
                                                  key=lambda i: (-elements[i].others.mean, i)))
    return weakest, strongest
