"""The affordance section as spreadsheet sheets, beside the cohort report's own (``tables``).

One row per group of every breakdown (its first column names it), so that the CSV's long form
(section, row, measure, value) is unambiguous: each affordance's n, mean and bands are columns.
Hidden figures are the words "Not shown", never a number.
"""

from __future__ import annotations

import pandas as pd

from .affordance_change import OVERALL as ALL_DOMAINS
from .affordance_change import ChangeFigures
from .affordances import AffordanceFigures, Group

DECIMALS = 4
HIDDEN = "Not shown"


def _round(value: float) -> float:
    return round(value, DECIMALS)


def _groups(figures: AffordanceFigures) -> list[tuple[str, Group]]:
    return [("All trainees", figures.total), *((f"{b.title}: {g.label}", g)
                                               for b in figures.breakdowns for g in b.groups)]


def affordance_sheets(figures: AffordanceFigures | None, change: ChangeFigures | None
                      ) -> dict[str, pd.DataFrame]:
    sheets: dict[str, pd.DataFrame] = {}
    if figures is None:
        return sheets
    measures = ["Trainees", "Average", *(f"Trainees {b.lower()}"
                                         for b in figures.scale.band_labels)]
    columns, rows = ["Group"], []
    for item in figures.columns:
        columns += [f"{item.title}: {measure}" for measure in measures]
    for label, group in _groups(figures):
        row: list[object] = [label]
        for item in figures.columns:
            shown = group.items.get(item.key)
            row += ([shown.n, _round(shown.mean), *shown.bands] if shown is not None
                    else [HIDDEN] * len(measures))
        rows.append(row)
    sheets["Affordances"] = pd.DataFrame(rows, columns=columns, dtype=object)
    sheets["Activities"] = pd.DataFrame(
        [(label, *((a.n, _round(a.per_trainee), a.with_any)
                   if (a := group.activities) is not None else [HIDDEN] * 3))
         for label, group in _groups(figures)],
        columns=["Group", "Trainees", "Activities per trainee",
                 "Trainees with at least one activity"], dtype=object)
    if change is not None and change.shown:
        domains = [(ALL_DOMAINS, "All domains"), *change.domains]
        columns = ["Affordance of the placement in between", "Trainees"]
        for _, title in domains:
            columns += [f"{title}: mean change", f"{title}: 95% CI lower",
                        f"{title}: 95% CI upper"]
        rows = []
        for group in (*change.groups, change.total):
            row = [group.label, group.n if group.n is not None else HIDDEN]
            for key, _ in domains:
                shown_change = group.changes.get(key)
                row += ([_round(shown_change.mean), _round(shown_change.low),
                         _round(shown_change.high)] if shown_change is not None
                        else [HIDDEN] * 3)
            rows.append(row)
        sheets["Change by affordance"] = pd.DataFrame(rows, columns=columns, dtype=object)
    return sheets
