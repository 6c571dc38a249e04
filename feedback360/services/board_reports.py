"""The leadership champion's quarterly report to the board (FMLM Leadership Commitment, Role
modelling, desirable): each theme's criteria and status, the figures with the previous quarters'
trend, affordances by site, and the champion's commentary.

Producing a report freezes what it shows into ``BoardReport.figures`` (a board paper must not
change after it was circulated); producing it again re-freezes it on request. Affordances are
aggregates per site and item under the cohort report's disclosure audit
(``affordances_by_site``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import (
    AffordanceAnswer,
    AffordanceResponse,
    BoardReport,
    Organisation,
    Placement,
    Site,
    User,
)
from ..quarters import Quarter
from ..scoring.breakdowns import admitted_cells
from . import DomainError
from . import commitment as tracker_service
from .commitment_criteria import load_commitment
from .commitment_figures import min_trainees, trend

COMMENTARY_MAX_LENGTH = 8000
FORMAT = 1  # of the frozen ``figures``; a reader meeting another refuses rather than guesses


def affordances_by_site(organisation_id: int, quarter: Quarter) -> list[dict[str, Any]]:
    """Each affordance item's mean score (1 to 10), for all the organisation's sites and per
    site, from each trainee's latest answers submitted in the quarter about a placement there.
    Which cells are shown is ``scoring.breakdowns.admitted_cells``'s decision (site the
    dimension, each item a choice), so neither a small site nor "all sites" less the others
    gives away fewer than k trainees' answers."""
    k = min_trainees()
    start = datetime.combine(quarter.starts_on, time(), UTC)
    stop = datetime.combine(quarter.ends_on + timedelta(days=1), time(), UTC)
    latest: dict[int, tuple[int, str]] = {}
    for trainee_id, response_id, site_name in db.session.execute(
            select(AffordanceResponse.trainee_id, AffordanceResponse.id, Site.name)
            .join(Placement, Placement.id == AffordanceResponse.placement_id)
            .join(Site, Site.id == Placement.site_id)
            .where(Site.organisation_id == organisation_id,
                   AffordanceResponse.submitted_at >= start,
                   AffordanceResponse.submitted_at < stop)
            .order_by(AffordanceResponse.submitted_at, AffordanceResponse.id)):
        latest[trainee_id] = (response_id, site_name)  # a later answer replaces an earlier one
    site_names = list(db.session.scalars(select(Site.name).where(
        Site.organisation_id == organisation_id).order_by(Site.name)))
    scores: dict[int, dict[str, int]] = {}
    for response_id, item_key, score in db.session.execute(
            select(AffordanceAnswer.response_id, AffordanceAnswer.item_key,
                   AffordanceAnswer.score)
            .where(AffordanceAnswer.response_id.in_([r for r, _ in latest.values()]),
                   AffordanceAnswer.score.is_not(None))):
        scores.setdefault(response_id, {})[item_key] = score
    items = sorted({item for answered in scores.values() for item in answered})
    frame = pd.DataFrame({"trainee_id": list(latest),
                          "site": [site for _, site in latest.values()]})
    for number, item in enumerate(items):
        frame[f"in_{number}"] = [item in scores.get(r, {}) for r, _ in latest.values()]
        frame[f"score_{number}"] = [scores.get(r, {}).get(item) for r, _ in latest.values()]
    admitted = admitted_cells(frame, dimensions=["site"], choices=len(items),
                              min_trainees=k) if items else set()

    def cell(number: int, site: str | None) -> dict[str, Any]:
        item = items[number]
        label = item.replace("_", " ").replace("-", " ").capitalize()
        if (number, (site,)) not in admitted:
            return {"item": item, "label": label, "mean": None, "trainees": None}
        rows = frame[frame[f"in_{number}"] & ((frame["site"] == site) if site else True)]
        return {"item": item, "label": label,
                "mean": round(float(rows[f"score_{number}"].mean()), 1),
                "trainees": len(rows)}

    return [{"site": name or "All sites", "items": [cell(n, name) for n in range(len(items))]}
            for name in [None, *site_names]]


def snapshot(organisation: Organisation, quarter: Quarter, today: date) -> dict[str, Any]:
    """Everything the report shows, as JSON (the frozen ``figures``)."""
    rows = tracker_service.tracker(organisation.id, today)
    commitment = load_commitment()
    themes = []
    for theme in commitment.themes:
        themes.append({"key": theme.key, "title": theme.title, "summary": theme.summary,
                       "criteria": [{"key": row.criterion.key, "title": row.criterion.title,
                                     "level": row.criterion.level, "status": row.status,
                                     "owner": row.latest.owner if row.latest else "",
                                     "review_on": row.latest.review_on.isoformat()
                                     if row.latest and row.latest.review_on else None,
                                     "overdue": row.overdue}
                                    for row in rows[theme.key]]})
    figures = [figures.as_json() for figures in trend(organisation.id, quarter)]
    return {"format": FORMAT, "organisation": organisation.name, "quarter": quarter.value,
            "commitment_version": commitment.version, "themes": themes,
            "status_summary": tracker_service.summary(rows), "trend": figures,
            "affordances": affordances_by_site(organisation.id, quarter),
            "min_trainees": min_trainees()}


def find(organisation_id: int, quarter: Quarter) -> BoardReport | None:
    return db.session.scalar(select(BoardReport).where(
        BoardReport.organisation_id == organisation_id, BoardReport.year == quarter.year,
        BoardReport.quarter == quarter.number))


def produce(organisation: Organisation, quarter: Quarter, *, by: User, today: date,
            commentary: str | None = None) -> BoardReport:
    """Produce (or re-produce) the quarter's report, freezing its figures now."""
    if quarter > Quarter.containing(today):
        raise DomainError("A report can be produced for this quarter or an earlier one",
                          field="quarter")
    report = find(organisation.id, quarter)
    if report is None:
        report = BoardReport(organisation_id=organisation.id, year=quarter.year,
                             quarter=quarter.number, commentary="")
        db.session.add(report)
    if commentary is not None:
        report.commentary = _commentary(commentary)
    report.figures = snapshot(organisation, quarter, today)
    report.produced_by_id, report.produced_at = by.id, datetime.now(UTC)
    db.session.flush()
    audit.record(by, "board_report.produced", f"board_report:{report.id}",
                 quarter=quarter.value)
    return report


def save_commentary(report: BoardReport, text: str, *, by: User) -> bool:
    """Change the commentary (the frozen figures stay as produced); whether it changed."""
    text = _commentary(text)
    if text == report.commentary:
        return False
    report.commentary = text
    db.session.flush()
    audit.record(by, "board_report.commentary_changed", f"board_report:{report.id}")
    return True


def _commentary(text: str) -> str:
    # browsers send a text area's line breaks as CRLF; paragraphs are split on blank lines
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > COMMENTARY_MAX_LENGTH:
        raise DomainError(f"The commentary must be {COMMENTARY_MAX_LENGTH} characters or fewer",
                          field="commentary")
    return text


def csv_rows(report: BoardReport) -> list[dict[str, object]]:
    """The frozen figures as one row per figure and quarter (suppressed cells left empty)."""
    rows: list[dict[str, object]] = []
    for quarter in report.figures.get("trend", []):
        for figure in [*quarter["figures"], *quarter["reasons"]]:
            rows.append({"quarter": quarter["quarter"], "theme": figure["theme"],
                         "figure": figure["key"], "label": figure["label"],
                         "value": "" if figure["value"] is None else figure["value"],
                         "unit": figure["unit"],
                         "trainees": "" if figure["trainees"] is None else figure["trainees"],
                         "suppressed": "yes" if figure["value"] is None else "no"})
    return rows
