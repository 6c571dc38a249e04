"""An organisation with two sites, its champion, and trainees placed there: the world of the
champion's tests (tests/test_champion*.py, tests/test_commitment_figures.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from feedback360.extensions import db
from feedback360.models import Activity, Organisation, Placement, Site, TimeReport, User

QUARTER_DAY = date(2026, 5, 15)  # inside Q2 2026


@dataclass
class World:
    organisation_id: int
    site_ids: list[int]
    champion_email: str
    trainee_ids: list[int]


def make_organisation(name: str = "Example NHS Foundation Trust",
                      sites: tuple[str, ...] = ("City Hospital", "Riverside Hospital")
                      ) -> tuple[Organisation, list[Site]]:
    organisation = Organisation(name=name)
    made = [Site(organisation=organisation, name=site) for site in sites]
    db.session.add_all([organisation, *made])
    db.session.flush()
    return organisation, made


def place(trainee_id: int, site: Site, started_on: date = date(2026, 1, 1),
          ended_on: date | None = None) -> Placement:
    placement = Placement(trainee_id=trainee_id, site_id=site.id, department="Medicine",
                          started_on=started_on, ended_on=ended_on)
    db.session.add(placement)
    return placement


def activity(trainee_id: int, on: date = QUARTER_DAY, **fields: Any) -> Activity:
    values = {"kind": "doing", "category": "meeting", "title": "Chaired a meeting", **fields}
    made = Activity(trainee_id=trainee_id, started_on=on, **values)
    db.session.add(made)
    return made


def time_lost(trainee_id: int, reason: str, on: date = QUARTER_DAY) -> TimeReport:
    report = TimeReport(trainee_id=trainee_id, kind="unavailable", reason=reason,
                        occurred_on=on, hours=3)
    db.session.add(report)
    return report


def champion_world(app: Any, make_user: Any, *, trainees: int = 6,
                   email: str = "champ@nhs.net") -> World:
    """Trainees split between the two sites for all of 2026, and the organisation's champion."""
    with app.app_context():
        organisation, sites = make_organisation()
        db.session.commit()
        org_id, site_ids = organisation.id, [site.id for site in sites]
    make_user(email, role="champion", name="Cham Pion", organisation_id=org_id)
    ids = [make_user(f"t{n}@nhs.net", name=f"Trainee {n}").id for n in range(trainees)]
    with app.app_context():
        for n, trainee_id in enumerate(ids):
            place(trainee_id, db.session.get(Site, site_ids[n % 2]))
        db.session.commit()
    return World(org_id, site_ids, email, ids)


def champion_of(app: Any, email: str) -> User:
    with app.app_context():
        return db.session.scalar(db.select(User).where(User.email == email))
