"""The leads' view of time-unavailable reports: by quarter, by site or by specialty, under the
cohort threshold.

A report is named to its trainee and often says why their department failed them, so a lead sees
only sums over at least ``COHORT_MIN_TRAINEES`` trainees, chosen by
``scoring.breakdowns.admitted_cells`` over *every* selection the page offers at once (each
offered quarter, whole or by site or by specialty). A cell under the threshold never shows, and
neither can it be worked out from the shown ones: not from a quarter's total minus its shown
sites (complementary suppression), nor from one quarter or breakdown minus another.

One trainee is one contribution to a quarter: their reports in it are summed, under the site and
specialty of their latest report in it (``breakdowns`` wants one set of attributes per trainee
and choice). A scoped lead's universe is their programmes' trainees (``lead_scope``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd
from flask import current_app

from ..extensions import db
from ..models import User
from ..models.portfolio import TIME_UNAVAILABLE_REASONS, TimeReport
from ..scoring.breakdowns import ANY, NOT_RECORDED, admitted_cells, cell_rows
from . import DomainError, lead_scope

BREAKDOWNS = {"site": "Site", "specialty": "Specialty"}
DIMENSIONS = tuple(BREAKDOWNS)
_PERIOD = re.compile(r"(\d{4})-Q([1-4])")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str) -> Quarter:
        found = _PERIOD.fullmatch(text or "")
        if not found:
            raise DomainError("Select a quarter from the list", field="period")
        return cls(int(found.group(1)), int(found.group(2)))

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    @property
    def label(self) -> str:
        first = date(self.year, 3 * self.quarter - 2, 1)
        last = date(self.year, 3 * self.quarter, 1)
        return f"{first:%B} to {last:%B} {self.year}"

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.quarter == 1 else Quarter(self.year,
                                                                             self.quarter - 1)


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


def _contributions(lead: User) -> pd.DataFrame:
    """One row per trainee and quarter they reported time unavailable in."""
    query = (db.select(TimeReport.trainee_id, TimeReport.occurred_on, TimeReport.id,
                       TimeReport.site, TimeReport.specialty, TimeReport.hours,
                       TimeReport.reason)
             .join(User, User.id == TimeReport.trainee_id)
             .where(TimeReport.kind == "unavailable", lead_scope.user_filter(lead))
             .order_by(TimeReport.trainee_id, TimeReport.occurred_on, TimeReport.id))
    reports = pd.DataFrame(db.session.execute(query).all(),
                           columns=["trainee_id", "occurred_on", "id", "site", "specialty",
                                    "hours", "reason"])
    if reports.empty:
        return reports
    reports["period"] = [Quarter.of(day).key for day in reports["occurred_on"]]
    reports["hours"] = pd.to_numeric(reports["hours"]).fillna(0.0)
    for reason in TIME_UNAVAILABLE_REASONS:
        reports[f"reason_{reason}"] = (reports["reason"] == reason).astype(int)
    grouped = reports.groupby(["trainee_id", "period"], sort=True)
    frame = grouped.agg(site=("site", "last"), specialty=("specialty", "last"),
                        reports=("id", "size"), hours=("hours", "sum"),
                        **{f"reason_{r}": (f"reason_{r}", "sum")
                           for r in TIME_UNAVAILABLE_REASONS}).reset_index()
    for dimension in DIMENSIONS:
        frame[dimension] = frame[dimension].fillna(NOT_RECORDED).astype(str).str.strip()
    return frame


def _offered(frame: pd.DataFrame, today: date) -> list[Quarter]:
    """Every quarter from the first reported one to the current one, latest first."""
    current = Quarter.of(today)
    reported = frame["period"] if not frame.empty else []
    first = min((Quarter.parse(p) for p in reported), default=current)
    quarters, quarter = [], current
    while quarter >= first:
        quarters.append(quarter)
        quarter = quarter.previous()
    return quarters


def _row(frame: pd.DataFrame, mask: pd.Series, group: str | None) -> Row:
    chosen = frame[mask]
    return Row(group=group, trainees=int(chosen["trainee_id"].nunique()),
               reports=int(chosen["reports"].sum()), hours=float(chosen["hours"].sum()),
               reasons={r: int(chosen[f"reason_{r}"].sum()) for r in TIME_UNAVAILABLE_REASONS})


def aggregate(lead: User, *, period: str | None, breakdown: str | None,
              today: date | None = None) -> Aggregate:
    """What ``lead`` may see of one quarter (``period``, default the latest offered) broken
    down by ``breakdown`` (``site`` or ``specialty``). ``DomainError`` for a quarter or breakdown
    the page does not offer."""
    breakdown = breakdown or DIMENSIONS[0]
    if breakdown not in BREAKDOWNS:
        raise DomainError("Select site or specialty", field="breakdown")
    min_trainees = int(current_app.config["COHORT_MIN_TRAINEES"])
    frame = _contributions(lead)
    periods = _offered(frame, today or date.today())
    chosen = Quarter.parse(period) if period else periods[0]
    if chosen not in periods:
        raise DomainError("Select a quarter from the list", field="period")
    if frame.empty:
        return Aggregate(periods, chosen, breakdown, None, [], min_trainees, False)
    for index, quarter in enumerate(periods):
        frame[f"in_{index}"] = frame["period"] == quarter.key
    admitted = admitted_cells(frame, dimensions=DIMENSIONS, choices=len(periods),
                              min_trainees=min_trainees, max_fixed=1)
    choice = periods.index(chosen)
    position = DIMENSIONS.index(breakdown)
    total = None
    rows = []
    whole = (choice, (ANY,) * len(DIMENSIONS))
    if whole in admitted:
        total = _row(frame, cell_rows(frame, whole, DIMENSIONS), None)
    groups = sorted(set(frame.loc[frame[f"in_{choice}"], breakdown]))
    for group in groups:
        values = tuple(group if i == position else ANY for i in range(len(DIMENSIONS)))
        if (choice, values) in admitted:
            rows.append(_row(frame, cell_rows(frame, (choice, values), DIMENSIONS), group))
    reported = bool(frame[f"in_{choice}"].any())
    hidden = reported and (total is None or len(rows) < len(groups))
    return Aggregate(periods, chosen, breakdown, total, rows, min_trainees, hidden)


def csv_rows(shown: Aggregate) -> list[dict[str, object]]:
    """The shown aggregate as rows for a spreadsheet: the quarter's total, then each group."""
    label = BREAKDOWNS[shown.breakdown]
    records = []
    for row in ([shown.total] if shown.total else []) + shown.rows:
        group = "All" if row.group is None else (row.group or "Not recorded")
        records.append({"quarter": shown.period.key, "breakdown": label, "group": group,
                        "trainees_reporting": row.trainees, "reports": row.reports,
                        "hours_lost": row.hours,
                        **{f"reason_{r}": row.reasons[r] for r in TIME_UNAVAILABLE_REASONS}})
    return records


CSV_COLUMNS = ["quarter", "breakdown", "group", "trainees_reporting", "reports", "hours_lost",
               *[f"reason_{r}" for r in TIME_UNAVAILABLE_REASONS]]
