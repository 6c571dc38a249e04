"""The leadership champion's quarterly report to the board (FMLM Leadership Commitment, Role
modelling, desirable): each theme's criteria and status, the figures with the previous quarters'
trend, affordances by site, and the champion's commentary.

Producing a report freezes what it shows into ``BoardReport.figures`` (a board paper must not
change after it was circulated); producing it again re-freezes it on request. Affordances are
aggregates per site and item, shown only when ``COHORT_MIN_TRAINEES`` different trainees
answered, never with an organisation-wide total beside them (a total less the shown sites would
give back a hidden site).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

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
from . import DomainError
from . import commitment as tracker_service
from .commitment_criteria import load_commitment
from .commitment_figures import Quarter, compute, min_trainees

COMMENTARY_MAX_LENGTH = 8000
FORMAT = 1  # of the frozen ``figures``; a reader meeting another refuses rather than guesses


def affordances_by_site(organisation_id: int, quarter: Quarter) -> list[dict[str, Any]]:
    """Per site of the organisation, each affordance item's mean score (1 to 10) from answers
    submitted in the quarter, where at least k trainees answered it; fewer are suppressed."""
    k = min_trainees()
    start = datetime.combine(quarter.starts_on, time(), UTC)
    stop = datetime.combine(quarter.ends_on + timedelta(days=1), time(), UTC)
    rows = db.session.execute(
        select(Site.id, Site.name, AffordanceAnswer.item_key,
               func.count(AffordanceResponse.trainee_id.distinct()),
               func.avg(AffordanceAnswer.score))
        .select_from(AffordanceAnswer)
        .join(AffordanceResponse, AffordanceResponse.id == AffordanceAnswer.response_id)
        .join(Placement, Placement.id == AffordanceResponse.placement_id)
        .join(Site, Site.id == Placement.site_id)
        .where(Site.organisation_id == organisation_id, AffordanceAnswer.score.is_not(None),
               AffordanceResponse.submitted_at >= start, AffordanceResponse.submitted_at < stop)
        .group_by(Site.id, Site.name, AffordanceAnswer.item_key)
        .order_by(Site.name, AffordanceAnswer.item_key)).all()
    sites: dict[int, dict[str, Any]] = {
        site.id: {"site": site.name, "items": []} for site in db.session.scalars(
            select(Site).where(Site.organisation_id == organisation_id).order_by(Site.name))}
    for site_id, _, item_key, trainees, mean in rows:
        shown = trainees >= k
        sites[site_id]["items"].append({
            "item": item_key, "label": item_key.replace("_", " ").replace("-", " ").capitalize(),
            "mean": round(float(mean), 1) if shown else None,
            "trainees": int(trainees) if shown else None})
    return list(sites.values())


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
    trend = [compute(organisation.id, q).as_json() for q in quarter.trend()]
    return {"format": FORMAT, "organisation": organisation.name, "quarter": quarter.value,
            "commitment_version": commitment.version, "themes": themes,
            "status_summary": tracker_service.summary(rows), "trend": trend,
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
    text = text.strip()
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
