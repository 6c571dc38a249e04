"""The Leadership Commitment tracker: each criterion's status, owner, evidence and review date
for one organisation, kept as an append-only history (``CommitmentStatus``).

Saving a criterion appends a row only when something changed, and audits what did; the tracker
shows each criterion's latest row, and flags a review date that has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..models import COMMITMENT_STATUSES, CommitmentStatus, Organisation, User
from . import DomainError, DomainErrors
from .commitment_criteria import Criterion, load_commitment

STATUS_LABELS = {"not_started": "Not started", "in_progress": "In progress", "met": "Met",
                 "not_met": "Not met"}
OWNER_MAX_LENGTH = 200
EVIDENCE_MAX_LENGTH = 4000
TRACKED = ("status", "owner", "evidence", "review_on")


@dataclass(frozen=True)
class Row:
    """One criterion as the tracker shows it."""

    criterion: Criterion
    latest: CommitmentStatus | None
    overdue: bool

    @property
    def status(self) -> str:
        return self.latest.status if self.latest else "not_started"


def latest(organisation_id: int) -> dict[str, CommitmentStatus]:
    """Each criterion's most recent row for the organisation."""
    newest = (select(CommitmentStatus.criterion_key, func.max(CommitmentStatus.id).label("id"))
              .where(CommitmentStatus.organisation_id == organisation_id)
              .group_by(CommitmentStatus.criterion_key).subquery())
    rows = db.session.scalars(select(CommitmentStatus).join(
        newest, newest.c.id == CommitmentStatus.id)).all()
    return {row.criterion_key: row for row in rows}


def tracker(organisation_id: int, today: date) -> dict[str, list[Row]]:
    """Per theme key, its criteria (essential first) with their latest state."""
    current = latest(organisation_id)
    commitment = load_commitment()
    result: dict[str, list[Row]] = {}
    for theme in commitment.themes:
        result[theme.key] = [
            Row(c, current.get(c.key), is_overdue(current.get(c.key), today))
            for c in commitment.of_theme(theme.key)]
    return result


def is_overdue(row: CommitmentStatus | None, today: date) -> bool:
    return row is not None and row.review_on is not None and row.review_on < today


def history(organisation_id: int, key: str) -> list[CommitmentStatus]:
    """The criterion's rows, newest first."""
    return list(db.session.scalars(
        select(CommitmentStatus).where(CommitmentStatus.organisation_id == organisation_id,
                                       CommitmentStatus.criterion_key == key)
        .order_by(CommitmentStatus.id.desc())))


def criterion(key: str) -> Criterion | None:
    return load_commitment().by_key().get(key)


def problems(*, status: str | None, owner: str | None, evidence: str | None,
             review_on: date | None) -> list[DomainError]:
    found = []
    if status not in COMMITMENT_STATUSES:
        found.append(DomainError("Select a status", field="status"))
    if len((owner or "").strip()) > OWNER_MAX_LENGTH:
        found.append(DomainError(f"The owner must be {OWNER_MAX_LENGTH} characters or fewer",
                                 field="owner"))
    if len((evidence or "").strip()) > EVIDENCE_MAX_LENGTH:
        found.append(DomainError(
            f"The evidence must be {EVIDENCE_MAX_LENGTH} characters or fewer", field="evidence"))
    if review_on is not None and not date(2000, 1, 1) <= review_on <= date(2999, 12, 31):
        found.append(DomainError("Enter a review date between 2000 and 2999",
                                 field="review_on"))
    return found


def record(organisation: Organisation, key: str, *, by: User, status: str, owner: str,
           evidence: str, review_on: date | None) -> dict[str, list[object]]:
    """Append the criterion's new state; returns what changed (``[before, after]`` per field,
    empty when nothing did, and then nothing is written)."""
    if criterion(key) is None:
        raise DomainError("There is no such criterion")
    DomainErrors.raise_any(problems(status=status, owner=owner, evidence=evidence,
                                    review_on=review_on))
    wanted = {"status": status, "owner": " ".join(owner.split()),
              "evidence": evidence.replace("\r\n", "\n").strip(), "review_on": review_on}
    before = latest(organisation.id).get(key)
    was = ({field: getattr(before, field) for field in TRACKED} if before else
           {"status": "not_started", "owner": "", "evidence": "", "review_on": None})
    changes = {field: [was[field], wanted[field]] for field in TRACKED
               if was[field] != wanted[field]}
    if not changes:
        return {}
    db.session.add(CommitmentStatus(organisation_id=organisation.id, criterion_key=key,
                                    recorded_by_id=by.id, **wanted))
    db.session.flush()
    audit.record(by, "commitment.updated", f"organisation:{organisation.id}", criterion=key,
                 changes={field: [str(v) if isinstance(v, date) else v for v in pair]
                          for field, pair in changes.items()})
    return changes


def summary(rows: dict[str, list[Row]]) -> dict[str, dict[str, int]]:
    """Per level, how many criteria are in each status (for the home page and the report)."""
    counts: dict[str, dict[str, int]] = {"essential": dict.fromkeys(COMMITMENT_STATUSES, 0),
                                         "desirable": dict.fromkeys(COMMITMENT_STATUSES, 0)}
    for theme_rows in rows.values():
        for row in theme_rows:
            counts[row.criterion.level][row.status] += 1
    return counts
