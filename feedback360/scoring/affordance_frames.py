"""The loaded rows shaped into what the affordance figures are built from: pure pandas.

``activities_in``: how many activities each trainee's current placement has; ``pairs_between``:
each trainee's most recent pair of consecutive scored cycles with an affordances answer about
the placement between them, as the change in each domain and that placement's affordance.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd


def _day(value: object) -> date | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    return value.date() if isinstance(value, datetime) else value  # type: ignore[return-value]


def activities_in(current: pd.DataFrame, activities: pd.DataFrame) -> list[int]:
    """How many activities each of these placements has: those logged against it, and those
    its trainee logged against no placement that began while it lasted."""
    linked = activities.dropna(subset=["placement_id"]).groupby("placement_id").size()
    loose = activities[activities["placement_id"].isna()].merge(
        current[["trainee_id", "placement_id", "started_on", "ended_on"]], on="trainee_id",
        suffixes=("", "_placement"))
    began = loose["started_on"].map(_day)
    within = [start <= day and (end is None or day <= end) for day, start, end in zip(
        began, loose["started_on_placement"].map(_day), loose["ended_on"].map(_day),
        strict=True)]
    unlinked = loose.loc[within, "placement_id_placement"].value_counts() if len(loose) else {}
    return [int(linked.get(p, 0)) + int(unlinked.get(p, 0)) for p in current["placement_id"]]


def pairs_between(placements: pd.DataFrame, responses: pd.DataFrame, answers: pd.DataFrame,
           cycles: pd.DataFrame, domains: list[str]) -> pd.DataFrame:
    """Per trainee, their most recent consecutive scored cycles with an answered placement
    between them: the change in each domain and that placement's affordance."""
    columns = ["trainee_id", "affordance", *domains]
    if not domains or not len(cycles) or not len(responses):
        return pd.DataFrame({c: [] for c in columns})
    answered = answers.dropna(subset=["score"]).groupby("response_id")["score"].mean()
    rated = responses.assign(affordance=responses["response_id"].map(answered)).dropna(
        subset=["affordance"]).merge(placements[["placement_id", "started_on", "ended_on"]],
                                     on="placement_id")
    by_trainee = {t: group for t, group in rated.groupby("trainee_id")}
    rows = []
    for trainee, mine in cycles.sort_values(["trainee_id", "closed_at", "cycle_id"]).groupby(
            "trainee_id"):
        options = by_trainee.get(trainee)
        if options is None or len(mine) < 2:
            continue
        closed = [_day(value) for value in mine["closed_at"]]
        scores = mine[domains].to_numpy(dtype=float)
        for later in range(len(mine) - 1, 0, -1):  # the most recent pair with an answer
            affordance = _between(options, closed[later - 1], closed[later])
            if affordance is not None:
                rows.append((trainee, affordance, *(scores[later] - scores[later - 1])))
                break
    return pd.DataFrame(rows, columns=columns)


def _between(options: pd.DataFrame, start: date | None, end: date | None) -> float | None:
    """The affordance of the placement that overlaps ``start``..``end`` most (its latest answer),
    or None if none does."""
    if start is None or end is None:
        return None
    best, best_days = None, 0
    for row in options.itertuples(index=False):
        began, ended = _day(row.started_on), _day(row.ended_on) or end
        days = (min(ended, end) - max(began, start)).days + 1  # type: ignore[type-var, operator]
        if days > best_days:
            best, best_days = float(row.affordance), days
    return best
