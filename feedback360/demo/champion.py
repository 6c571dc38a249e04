"""Demo data for the leadership champion (issue 14): the demo organisation and its two sites
(found by name if the workplace demo made them), placements for demo trainees who have none, a
champion, a partly-met Leadership Commitment with some history, and one produced board report.

Idempotent like the rest of ``seed-demo``: each part is made only when missing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from ..extensions import db
from ..models import BoardReport, CommitmentStatus, Organisation, Placement, Site, User
from ..quarters import Quarter
from ..services import board_reports
from . import workplace as demo_workplace

# The trust the workplace demo places the trainees in (demo/workplace.py), so the board report
# counts their placements, portfolios and affordances.
ORGANISATION = demo_workplace.ORGANISATION
SITES = demo_workplace.ORGANISATION_SITES
CHAMPION = ("Dr Naomi Adeyemi", "champion.adeyemi")
COMMENTARY = (
    "Shadowing of the executive team is now offered at both sites, and trainees can report "
    "lost development time through feedback360.\n\nNext quarter we will agree flexible rotas "
    "with the rota coordinators so that every trainee can take their full study leave.")
# (criterion, [(days ago, status, owner, evidence, review in days or None), ...]) oldest first
HISTORY = [
    ("role-modelling-champion", [(200, "in_progress", "Medical director", "", None),
                                 (150, "met", "Medical director",
                                  "Dr Naomi Adeyemi appointed leadership champion.", 180)]),
    ("opportunities-portfolio", [(170, "in_progress", "Director of medical education",
                                  "Catalogue drafted with the junior doctors' forum.", 60),
                                 (90, "met", "Director of medical education",
                                  "Catalogue live in feedback360; advertised at induction.", 270)]),
    ("time-report-mechanism", [(120, "met", "Guardian of safe working",
                                "Time-unavailable reports in feedback360.", 180)]),
    ("feedback-formal-tools", [(110, "met", "Leadership champion",
                                "Every trainee offered a 360 each year.", 200)]),
    ("recognition-letters", [(60, "in_progress", "Leadership champion",
                              "Letter template agreed; first letters this quarter.", 45)]),
    ("time-flexible-rotas", [(80, "not_met", "Rota coordinator",
                              "Two rotas still block study leave in winter.", 30)]),
    ("role-modelling-board-report", [(100, "in_progress", "Leadership champion", "", -5)]),
    ("opportunities-development-forum", [(140, "in_progress", "Junior doctors' forum chair",
                                          "Forum meets monthly; minutes on the intranet.", 40)]),
]


def _organisation() -> tuple[Organisation, list[Site]]:
    organisation = db.session.scalar(
        db.select(Organisation).where(Organisation.name == ORGANISATION))
    if organisation is None:
        organisation = Organisation(name=ORGANISATION)
        db.session.add(organisation)
        db.session.flush()
    sites = []
    for name in SITES:
        site = db.session.scalar(db.select(Site).where(Site.organisation_id == organisation.id,
                                                       Site.name == name))
        if site is None:
            site = Site(organisation_id=organisation.id, name=name)
            db.session.add(site)
        sites.append(site)
    db.session.flush()
    return organisation, sites


def _place(trainees: list[User], sites: list[Site], today: date) -> None:
    placed = set(db.session.scalars(db.select(Placement.trainee_id).where(
        Placement.trainee_id.in_([t.id for t in trainees]))))
    for index, trainee in enumerate(t for t in trainees if t.id not in placed):
        db.session.add(Placement(trainee_id=trainee.id, site_id=sites[index % 2].id,
                                 department="Clinical science", specialty=trainee.specialty,
                                 started_on=today - timedelta(days=400)))


def _commitment(organisation: Organisation, champion: User, now: datetime) -> None:
    if db.session.scalar(db.select(CommitmentStatus.id).where(
            CommitmentStatus.organisation_id == organisation.id).limit(1)):
        return
    for key, steps in HISTORY:
        for days_ago, status, owner, evidence, review_in in steps:
            db.session.add(CommitmentStatus(
                organisation_id=organisation.id, criterion_key=key, status=status, owner=owner,
                evidence=evidence, recorded_by_id=champion.id,
                recorded_at=now - timedelta(days=days_ago),
                review_on=None if review_in is None else now.date() + timedelta(days=review_in)))


def seed_demo_champion(password_hash: str, trainees: list[User],
                       account: Callable[..., User]) -> User:
    """The champion (made with ``account``, the demo's account finder), their organisation and
    its data; returns the champion."""
    now = datetime.now(UTC)
    organisation, sites = _organisation()
    champion = account(CHAMPION[0], CHAMPION[1], "champion", password_hash,
                       organisation_id=organisation.id)
    db.session.flush()
    _place(trainees, sites, now.date())
    _commitment(organisation, champion, now)
    db.session.flush()
    last_quarter = Quarter.containing(now.date()).previous()
    if db.session.scalar(db.select(BoardReport.id).where(
            BoardReport.organisation_id == organisation.id)) is None:
        board_reports.produce(organisation, last_quarter, by=champion, today=now.date(),
                              commentary=COMMENTARY)
    return champion
