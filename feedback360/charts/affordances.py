"""The affordance section of the cohort report as accessible tables (issue 14, point 3).

Only what the audited figures hold: a hidden figure is "Not shown", whatever the reason (too few
trainees, or it would give a smaller group away).
"""

from __future__ import annotations

from ..scoring.affordance_change import OVERALL as ALL_DOMAINS
from ..scoring.affordance_change import ChangeFigures, Interval
from ..scoring.affordances import AffordanceFigures, Group, ItemStats
from .base import Table, _number

HIDDEN = "Not shown"


def _scale(figures: AffordanceFigures) -> str:
    return f"scale {figures.scale.min} to {figures.scale.max}"


def _mean(stats: ItemStats | None, n: int | None = None) -> str:
    """The average; with its own n when that is not the group's (some said "does not apply")."""
    if stats is None:
        return HIDDEN
    return _number(stats.mean) + (f" ({stats.n} trainees)" if stats.n != n else "")


def items_table(figures: AffordanceFigures) -> Table:
    total = figures.total
    return Table(
        f"Each affordance: trainees' most recent answers ({_scale(figures)})",
        ["Affordance", "Trainees", "Average", *figures.scale.band_labels],
        [[item.title, *((str(s.n), _number(s.mean), *(str(b) for b in s.bands))
                        if (s := total.items.get(item.key)) is not None else [HIDDEN] * 5)]
         for item in figures.columns])


def breakdown_tables(figures: AffordanceFigures) -> list[Table]:
    tables = []
    for breakdown in figures.breakdowns:
        tables.append(Table(
            f"Average of each affordance by {breakdown.title.lower()} ({_scale(figures)})",
            [breakdown.title, "Trainees", *(item.title for item in figures.columns)],
            [[group.label, str(group.n) if group.n is not None else HIDDEN,
              *(_mean(group.items.get(item.key), group.n) for item in figures.columns)]
             for group in breakdown.groups]))
    return tables


def activities_table(figures: AffordanceFigures) -> Table:
    def row(prefix: str, group: Group) -> list[str]:
        shown = group.activities
        return [prefix + group.label, *((str(shown.n), _number(shown.per_trainee),
                                         str(shown.with_any)) if shown is not None
                                        else [HIDDEN] * 3)]

    rows = [row("", figures.total)]
    for breakdown in figures.breakdowns:
        rows += [row(f"{breakdown.title}: ", group) for group in breakdown.groups]
    return Table("Activities logged per trainee in their current placement",
                 ["Group", "Trainees", "Activities per trainee",
                  "Trainees with at least one activity"], rows)


def _interval(shown: Interval | None) -> str:
    if shown is None:
        return HIDDEN
    return (f"{_number(shown.mean, signed=True)} "
            f"({_number(shown.low, signed=True)} to {_number(shown.high, signed=True)})")


def change_table(change: ChangeFigures) -> Table:
    return Table(
        "Change in colleagues' average between a trainee's two most recent scored cycles, by "
        "the affordance of the placement in between: mean change (95% confidence interval)",
        ["Affordance of the placement in between", "Trainees", "All domains",
         *(title for _, title in change.domains)],
        [[group.label, str(group.n) if group.n is not None else HIDDEN,
          _interval(group.changes.get(ALL_DOMAINS)),
          *(_interval(group.changes.get(key)) for key, _ in change.domains)]
         for group in (*change.groups, change.total)])


def affordance_tables(figures: AffordanceFigures | None, change: ChangeFigures | None
                      ) -> dict[str, object]:
    tables: dict[str, object] = {}
    if figures is not None:
        tables |= {"items": items_table(figures), "breakdowns": breakdown_tables(figures),
                   "activities": activities_table(figures)}
    if change is not None and change.shown:
        tables["change"] = change_table(change)
    return tables

