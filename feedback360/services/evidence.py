"""The evidence pack a trainee uploads to their e-portfolio (issue 13, point 7).

One content dict, built here, is what ``evidence.json`` holds and what both PDFs are drawn from,
so the three files cannot disagree. Its shape is ``docs/evidence-pack.schema.json``
(``docs/evidence-pack.md`` describes it); bump ``SCHEMA_VERSION`` when it changes.

Only what the trainee may already see goes in: a report of their own *released* cycle, as the
released report shows it (``scoring.disclosed``'s wording, no hidden comment, no score or
comment at all when too few colleagues answered), and their own activities with the written
feedback *given* on them (never a pending draft or a decline) and the letters still standing.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy.orm import selectinload

from .. import audit

# Pure functions over a report: the very tables the dashboard prints under its charts.
from ..charts import element_table
from ..charts.figures import domain_radar
from ..extensions import db
from ..models import Activity, FeedbackCycle, Letter, User, utcnow
from ..scoring.disclosed import disclosed
from . import DomainError, DomainErrors
from .clcf_framework import elements_by_key
from .instrument_cache import instrument_for
from .summaries import comments_for, report_for

SCHEMA_ID = "https://feedback360.invalid/schemas/evidence-pack/1"
SCHEMA_VERSION = 1
ACTIVITIES_MAX = 100


def released_cycles(trainee_id: int) -> list[FeedbackCycle]:
    """The trainee's released cycles, newest first: the reports a pack may hold."""
    return list(db.session.scalars(
        db.select(FeedbackCycle)
        .where(FeedbackCycle.trainee_id == trainee_id, FeedbackCycle.status == "released")
        .order_by(FeedbackCycle.closes_on.desc(), FeedbackCycle.id.desc())))


def activities_of(trainee_id: int) -> list[Activity]:
    """The trainee's activities and education, newest first."""
    return list(db.session.scalars(
        db.select(Activity).where(Activity.trainee_id == trainee_id)
        .options(selectinload(Activity.elements), selectinload(Activity.feedback_requests))
        .order_by(Activity.started_on.desc(), Activity.id.desc())))


def chosen(trainee: User, *, cycle_id: str | int | None,
           activity_ids: Iterable[int] | None) -> tuple[FeedbackCycle | None, list[Activity]]:
    """The released cycle (or None) and the activities chosen, each the trainee's own; every
    problem at once. Something must be chosen."""
    errors: list[DomainError] = []
    cycle = None
    if cycle_id not in (None, ""):
        cycles = {str(c.id): c for c in released_cycles(trainee.id)}
        cycle = cycles.get(str(cycle_id))
        if cycle is None:
            errors.append(DomainError("Select one of your released reports", field="cycle_id"))
    wanted = set(activity_ids or [])
    mine = {activity.id: activity for activity in activities_of(trainee.id)}
    if not wanted <= set(mine):
        errors.append(DomainError("Select activities from the list", field="activity_ids"))
    elif len(wanted) > ACTIVITIES_MAX:
        errors.append(DomainError(f"Select {ACTIVITIES_MAX} activities or fewer",
                                  field="activity_ids"))
    if not errors and cycle is None and not wanted:
        errors.append(DomainError("Select a released report or at least one activity"))
    DomainErrors.raise_any(errors)
    return cycle, sorted((mine[i] for i in wanted), key=lambda a: (a.started_on, a.id))


# --- The content -------------------------------------------------------------------------------

def _table(table: Any) -> dict[str, Any]:
    return {"caption": table.caption, "headers": list(table.headers),
            "rows": [list(row) for row in table.rows]}


def report_content(cycle: FeedbackCycle) -> dict[str, Any]:
    """The released report as the trainee's page shows it (``views/reports.dashboard_context``
    with ``viewer="trainee"``): counts, the summary and notes, the domain and element tables
    and the visible comments, labelled as shown."""
    if cycle.status != "released":
        raise ValueError("only a released report goes into an evidence pack")
    instrument = instrument_for(cycle)
    report = disclosed(report_for(cycle), instrument)
    prompts = {prompt.key: prompt.prompt for prompt in instrument.comments}
    comments = comments_for(cycle, report, include_hidden=False) if report.enough else []
    return {
        "cycle_title": cycle.title,
        "questionnaire": instrument.title,
        "closed_on": cycle.closing_date.isoformat(),
        "released_on": cycle.released_at.date().isoformat() if cycle.released_at else None,
        "responses": report.validity.responses,
        "responses_by_group": [{"group": column.label, "responses": column.n}
                               for column in report.columns
                               if report.enough and column.kind not in ("self", "all")],
        "enough_responses": report.enough,
        "summary": report.message if report.enough else (
            "Not enough responses to show colleagues' scores: the report shows none of their "
            "scores and none of their comments."),
        "validity": report.validity.message,
        "notes": list(report.notes),
        "scale": {"min": report.scale_min, "max": report.scale_max},
        "domains": _table(domain_radar(report).table) if report.enough else None,
        "elements": _table(element_table(report)) if report.enough else None,
        "comments": [{"prompt": prompts.get(c.prompt_key, "Other comments"), "text": c.text,
                      "from": c.group_label} for c in comments],
    }


def _element(key: str, known: dict[str, Any]) -> dict[str, str]:
    found = known.get(key)
    return {"key": key, "title": found.title if found else key,
            "domain": found.domain_title if found else ""}


def _letter(letter: Letter) -> dict[str, Any]:
    return {"title": letter.title, "verification_code": letter.verification_code,
            "issued_on": letter.issued_at.date().isoformat(), "issuer_name": letter.issuer_name,
            "issuer_role": letter.issuer_role}


def activity_content(activity: Activity, letters: list[Letter]) -> dict[str, Any]:
    known = elements_by_key()
    return {
        "title": activity.title,
        "kind": activity.kind,
        "category": activity.category,
        "started_on": activity.started_on.isoformat(),
        "ended_on": activity.ended_on.isoformat() if activity.ended_on else None,
        "hours": activity.hours,
        "description": activity.description,
        "went_well": activity.went_well,
        "do_differently": activity.do_differently,
        "elements": [_element(row.element_key, known) for row in activity.elements],
        "feedback": [{
            "observer_name": request.observer_name,
            "observer_role": request.observer_role or "",
            "given_on": request.given_at.date().isoformat() if request.given_at else None,
            "answers": [{**_element(key, known), "text": text}
                        for key, text in (request.answers or {}).items() if text],
            "overall": request.overall or "",
        } for request in activity.feedback_requests if request.status == "given"],
        "letters": [_letter(letter) for letter in letters],
    }


def pack_content(trainee: User, cycle: FeedbackCycle | None,
                 activities: list[Activity]) -> dict[str, Any]:
    from .letters import letters_citing

    citing = letters_citing(trainee.id, [activity.id for activity in activities])
    return {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "generated_at": utcnow().replace(microsecond=0).isoformat(),
        "organisation": current_app.config["ORGANISATION_NAME"],
        "trainee": {"name": trainee.name, "specialty": trainee.specialty,
                    "training_year": trainee.training_year},
        "report": report_content(cycle) if cycle is not None else None,
        "activities": [activity_content(activity, citing[activity.id])
                       for activity in activities],
    }


# --- The ZIP -------------------------------------------------------------------------------------

REPORT_PDF, ACTIVITIES_PDF, JSON_FILE = "360-report.pdf", "leadership-activities.pdf", \
    "evidence.json"


def pack_name(content: dict[str, Any]) -> str:
    day = datetime.fromisoformat(content["generated_at"]).date().isoformat()
    return f"feedback360-evidence-{day}"


def build_zip(content: dict[str, Any], render: Any) -> bytes:
    """The ZIP: the report's PDF (when a report was chosen), the activities' PDF (when any
    were) and ``evidence.json``, in one folder. ``render(template, **context)`` makes a PDF."""
    folder = pack_name(content)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if content["report"] is not None:
            archive.writestr(f"{folder}/{REPORT_PDF}",
                             render("evidence/report_pdf.html", pack=content))
        if content["activities"]:
            archive.writestr(f"{folder}/{ACTIVITIES_PDF}",
                             render("evidence/activities_pdf.html", pack=content))
        archive.writestr(f"{folder}/{JSON_FILE}",
                         json.dumps(content, indent=2, ensure_ascii=False) + "\n")
    return buffer.getvalue()


def record(trainee: User, cycle: FeedbackCycle | None, activities: list[Activity]) -> None:
    audit.record(trainee, "evidence.pack_downloaded", f"user:{trainee.id}",
                 cycle=cycle.id if cycle is not None else None,
                 activities=[activity.id for activity in activities])
