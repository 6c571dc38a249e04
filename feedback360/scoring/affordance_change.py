"""The change in trainees' 360 scores against the affordances of the placement in between
(issue 14, point 3): pure pandas/numpy.

One row per trainee: their most recent pair of consecutive scored cycles with an affordances
answer about the placement between them; the change in colleagues' average for each domain
(later minus earlier) and that placement's affordance (the trainee's average over the items
they answered). Trainees are grouped by the third of the scale their affordance falls in (fixed
cut points, not quantiles of the answers: a quantile is one trainee's own answer), and each
group's mean change is shown with a 95% confidence interval and its n, when the breakdown audit
(:mod:`.breakdowns`) admits it. An association across trainees, not a cause: trainees who report
better placements may differ in other ways.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .affordances import Scale
from .breakdowns import ANY, admitted_cells

OVERALL = "overall"  # a trainee's change averaged over the domains
# Student's t, two-sided 95%, for 1..30 degrees of freedom; beyond, the Cornish-Fisher series
_T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
          2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
          2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
_Z_975 = 1.959964


def t_quantile(df: int) -> float:
    """The 97.5th percentile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("at least one degree of freedom")
    if df <= len(_T_975):
        return _T_975[df - 1]
    z = _Z_975
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float


def interval(values: np.ndarray) -> Interval:
    """The mean and its 95% confidence interval (t-based); n >= 2."""
    n = len(values)
    mean = float(values.mean())
    half = t_quantile(n - 1) * float(values.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half)


@dataclass(frozen=True)
class ChangeGroup:
    key: str  # "low", "middle", "high", or "" for every trainee with a pair
    label: str
    n: int | None  # None when hidden
    changes: dict[str, Interval]  # OVERALL first, then each domain


@dataclass(frozen=True)
class ChangeFigures:
    min_trainees: int
    domains: tuple[tuple[str, str], ...]  # (key, title)
    groups: tuple[ChangeGroup, ...]  # the three thirds, lowest affordance first
    total: ChangeGroup

    @property
    def shown(self) -> bool:
        return any(g.n is not None for g in (*self.groups, self.total))


GROUPS = ("low", "middle", "high")


def group_labels(scale: Scale) -> dict[str, str]:
    low, high = scale.edges
    return {"low": f"Lower third of the scale (below {low:.3g})",
            "middle": f"Middle third ({low:.3g} to under {high:.3g})",
            "high": f"Upper third ({high:.3g} or above)"}


def build_change(pairs: pd.DataFrame, domains: Sequence[tuple[str, str]], scale: Scale,
                 min_trainees: int) -> ChangeFigures:
    """``pairs``: trainee_id, affordance, and a change column per domain key (no gaps)."""
    keys = [key for key, _ in domains]
    frame = pairs.assign(
        group=np.array(GROUPS, dtype=object)[scale.band(pairs["affordance"].to_numpy(float))]
        if len(pairs) else pd.Series(dtype=object),
        in_0=True)
    changes = frame[keys].to_numpy(dtype=float) if len(frame) else np.zeros((0, len(keys)))
    overall = changes.mean(axis=1) if keys else np.zeros(len(frame))
    admitted = admitted_cells(frame[["trainee_id", "group", "in_0"]], dimensions=["group"],
                              choices=1, min_trainees=min_trainees)
    labels = group_labels(scale)

    def group(value: str | None, label: str) -> ChangeGroup:
        if (0, (value,)) not in admitted:
            return ChangeGroup(value or "", label, None, {})
        mask = np.ones(len(frame), dtype=bool) if value is ANY else (
            frame["group"] == value).to_numpy()
        shown = {OVERALL: interval(overall[mask])}
        shown |= {key: interval(changes[mask, i]) for i, key in enumerate(keys)}
        return ChangeGroup(value or "", label, int(mask.sum()), shown)

    return ChangeFigures(min_trainees, tuple(domains),
                         tuple(group(g, labels[g]) for g in GROUPS),
                         group(ANY, "All trainees with two scored cycles"))
