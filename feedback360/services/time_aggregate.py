"""The leads' view of time-unavailable reports: by quarter, by site or by specialty, under the
cohort threshold.

A report is named to its trainee and often says why their department failed them, so a lead sees
only sums over at least ``COHORT_MIN_TRAINEES`` trainees, chosen by
``scoring.breakdowns.admitted_cells`` over every selection the page offers for a quarter (whole,
by site, by specialty) at once. A cell under the threshold never shows, and neither can it be
worked out from the shown ones: not from a quarter's total minus its shown sites (complementary
suppression), nor from one breakdown minus the other.

Quarters are audited one at a time, which is as safe as auditing all of them together: they share
no contribution (a report falls in one quarter), so any combination of shown cells that picks
out fewer than k trainees' reports, restricted to one quarter's contributions, is a combination of
that quarter's cells alone picking out fewer than k (and at least one such restriction is not
empty); the per-quarter audit refuses every such combination. It is also what keeps the page fast:
auditing every quarter of 5,000 trainees together takes most of a minute. Each quarter's admitted
cells are kept in memory, keyed by the exact contributions they were computed from.

One trainee is one contribution to a quarter: their reports in it are summed, under the site and
specialty of their latest report in it (``breakdowns`` wants one set of attributes per trainee
and choice). A scoped lead's universe is their programmes' trainees (``lead_scope``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from flask import current_app
from sqlalchemy import func

from ..extensions import db
from ..models import User
from ..models.portfolio import TIME_UNAVAILABLE_REASONS, TimeReport
from ..quarters import Quarter
from ..scoring.breakdowns import ANY, NOT_RECORDED, Cell, admitted_cells
from . import DomainError, lead_scope

BREAKDOWNS = {"site": "Site", "specialty": "Specialty"}
DIMENSIONS = tuple(BREAKDOWNS)
REASON_COLUMNS = [f"reason_{r}" for r in TIME_UNAVAILABLE_REASONS]


@dataclass(frozen=True)
class Row:
    """One shown cell: a group (or the whole quarter, ``group`` None) and its sums."""

    group: str | None
    trainees: int
    reports: int
    hours: float
    reasons: dict[str, int]


@dataclass(frozen=True)
class Aggregate:
    periods: list[Quarter]
    period: Quarter
    breakdown: str
    total: Row | None
    rows: list[Row]
    min_trainees: int
    anything_hidden: bool


def _first_reported(lead: User) -> date | None:
    return db.session.scalar(
        db.select(func.min(TimeReport.occurred_on)).join(User, User.id == TimeReport.trainee_id)
        .where(TimeReport.kind == "unavailable", lead_scope.user_filter(lead)))


def _contributions(lead: User, quarter: Quarter) -> pd.DataFrame:
    """One row per trainee who reported time unavailable in ``quarter``: their reports summed,
    under the site and specialty of the latest."""
    query = (db.select(TimeReport.trainee_id, TimeReport.site, TimeReport.specialty,
                       TimeReport.hours, TimeReport.reason)
             .join(User, User.id == TimeReport.trainee_id)
             .where(TimeReport.kind == "unavailable", lead_scope.user_filter(lead),
                    TimeReport.occurred_on >= quarter.starts_on,
                    TimeReport.occurred_on <= quarter.ends_on)
             .order_by(TimeReport.trainee_id, TimeReport.occurred_on, TimeReport.id))
    trainees: dict[int, dict[str, object]] = {}
    for trainee_id, site, specialty, hours, reason in db.session.execute(query):
        row = trainees.setdefault(trainee_id, {"trainee_id": trainee_id, "reports": 0,
                                               "hours": 0.0, **dict.fromkeys(REASON_COLUMNS, 0)})
        row["site"] = (site or NOT_RECORDED).strip()
        row["specialty"] = (specialty or NOT_RECORDED).strip()
        row["reports"] += 1  # type: ignore[operator]
        row["hours"] += float(hours or 0)  # type: ignore[operator]
        row[f"reason_{reason}"] += 1  # type: ignore[operator]
    return pd.DataFrame(list(trainees.values()),
                        columns=["trainee_id", *DIMENSIONS, "reports", "hours", *REASON_COLUMNS])


def _offered(first_reported: date | None, today: date) -> list[Quarter]:
    """Every quarter from the first reported one to the current one, latest first."""
    current = Quarter.containing(today)
    first = min(Quarter.containing(first_reported), current) if first_reported else current
    quarters, quarter = [], current
    while quarter >= first:
        quarters.append(quarter)
        quarter = quarter.previous()
    return quarters


def _row(part: pd.DataFrame, group: str | None) -> Row:
    """The sums of ``part`` (a trainee is one row)."""
    sums = part[["reports", "hours", *REASON_COLUMNS]].sum()
    return Row(group=group, trainees=len(part), reports=int(sums["reports"]),
               hours=float(sums["hours"]),
               reasons={r: int(sums[f"reason_{r}"]) for r in TIME_UNAVAILABLE_REASONS})


def aggregate(lead: User, *, period: str | None, breakdown: str | None,
              today: date | None = None) -> Aggregate:
    """What ``lead`` may see of one quarter (``period``, default the latest offered) broken
    down by ``breakdown`` (``site`` or ``specialty``). ``DomainError`` for a quarter or breakdown
    the page does not offer."""
    breakdown = breakdown or DIMENSIONS[0]
    if breakdown not in BREAKDOWNS:
        raise DomainError("Select site or specialty", field="breakdown")
    min_trainees = int(current_app.config["COHORT_MIN_TRAINEES"])
    periods = _offered(_first_reported(lead), today or date.today())
    chosen = Quarter.parse(period, field="period") if period else periods[0]
    if chosen not in periods:
        raise DomainError("Select a quarter from the list", field="period")
    frame = _contributions(lead, chosen)
    if frame.empty:
        return Aggregate(periods, chosen, breakdown, None, [], min_trainees, False)
    frame["in_0"] = True
    admitted = _admitted(frame, min_trainees)
    position = DIMENSIONS.index(breakdown)
    total = _row(frame, None) if (0, (ANY,) * len(DIMENSIONS)) in admitted else None
    groups = dict(list(frame.groupby(breakdown, sort=True)))
    rows = [_row(part, group) for group, part in groups.items()
            if (0, tuple(group if i == position else ANY for i in range(len(DIMENSIONS))))
            in admitted]
    hidden = total is None or len(rows) < len(groups)
    return Aggregate(periods, chosen, breakdown, total, rows, min_trainees, hidden)


_ADMITTED: dict[tuple[object, ...], frozenset[Cell]] = {}
_ADMITTED_KEPT = 64


def _admitted(frame: pd.DataFrame, min_trainees: int) -> frozenset[Cell]:
    """``admitted_cells`` for one quarter, remembered for the exact same contributions."""
    key = (min_trainees, *frame[["trainee_id", *DIMENSIONS]].itertuples(index=False, name=None))
    if key not in _ADMITTED:
        if len(_ADMITTED) >= _ADMITTED_KEPT:  # the oldest goes (another thread may beat us)
            _ADMITTED.pop(next(iter(_ADMITTED), None), None)
        _ADMITTED[key] = frozenset(admitted_cells(
            frame, dimensions=DIMENSIONS, choices=1, min_trainees=min_trainees, max_fixed=1))
    return _ADMITTED[key]


def csv_rows(shown: Aggregate) -> list[dict[str, object]]:
    """The shown aggregate as rows for a spreadsheet: the quarter's total, then each group."""
    label = BREAKDOWNS[shown.breakdown]
    records = []
    for row in ([shown.total] if shown.total else []) + shown.rows:
        group = "All" if row.group is None else (row.group or "Not recorded")
        records.append({"quarter": shown.period.value, "breakdown": label, "group": group,
                        "trainees_reporting": row.trainees, "reports": row.reports,
                        "hours_lost": row.hours,
                        **{f"reason_{r}": row.reasons[r] for r in TIME_UNAVAILABLE_REASONS}})
    return records


CSV_COLUMNS = ["quarter", "breakdown", "group", "trainees_reporting", "reports", "hours_lost",
               *[f"reason_{r}" for r in TIME_UNAVAILABLE_REASONS]]
