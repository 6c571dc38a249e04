"""Demo workplaces (issue 14): the employing organisation with two sites, the demo trainees'
placements, and their answers to the affordances questionnaire across both intakes.

Leeds and Manchester belong to one trust, with at least five trainees each across the two
intakes (so the affordances aggregates can be shown); Preston, of another trust, has four (so
the demo also shows a suppressed cell). Manchester's departments are answered the weakest, so a
report naming the weakest sites has something to say. One trainee (Amara Okafor) shares her
answers with her coach. Running it again changes nothing.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from ..extensions import db
from ..instruments import snapshot
from ..models import AffordanceAnswer, AffordanceResponse, Organisation, Placement, Site, User
from ..services.affordances import questionnaire

ORGANISATION = "Northern Teaching Hospitals NHS Foundation Trust"
ORGANISATION_SITES = ("Leeds General Infirmary", "Manchester Royal Infirmary")
OTHER_ORGANISATION = "Lancashire Teaching Hospitals NHS Foundation Trust"
OTHER_SITES = ("Royal Preston Hospital",)
# How well each site's departments afford leadership, on the 1-5 agreement scale.
SITE_MEANS = {"Leeds General Infirmary": 3.9, "Manchester Royal Infirmary": 2.6,
              "Royal Preston Hospital": 3.3}
SHARING_TRAINEE = "Amara Okafor"
CURRENT_STARTED_DAYS_AGO = 90
EARLIER_FIRST_DAYS_AGO = 460


def _organisation(name: str, sites: tuple[str, ...]) -> dict[str, Site]:
    organisation = db.session.scalar(db.select(Organisation).filter_by(name=name))
    if organisation is None:
        organisation = Organisation(name=name)
        db.session.add(organisation)
        db.session.flush()
    found = {}
    for site_name in sites:
        site = db.session.scalar(db.select(Site).filter_by(organisation_id=organisation.id,
                                                           name=site_name))
        if site is None:
            site = Site(organisation_id=organisation.id, name=site_name)
            db.session.add(site)
            db.session.flush()
        found[site_name] = site
    return found


def _scores(rng: random.Random, mean: float, keys: tuple[str, ...]) -> dict[str, int | None]:
    scores: dict[str, int | None] = {}
    for key in keys:
        if key == "patient-contact" and rng.random() < 0.15:
            scores[key] = None  # "does not apply" (a laboratory placement)
        else:
            scores[key] = max(1, min(5, round(rng.gauss(mean, 0.8))))
    return scores


def _answer(trainee: User, placement: Placement, version_id: int, keys: tuple[str, ...],
            on: date, *, shared: bool) -> None:
    rng = random.Random(f"{trainee.email}:{placement.started_on}")  # noqa: S311  (demo data)
    db.session.add(AffordanceResponse(
        trainee_id=trainee.id, placement_id=placement.id, instrument_version_id=version_id,
        shared_with_coach=shared, submitted_at=datetime.combine(on, time(10), tzinfo=UTC),
        answers=[AffordanceAnswer(item_key=key, score=score) for key, score in
                 _scores(rng, SITE_MEANS[placement.site.name], keys).items()]))


def _place(trainee: User, site: Site, started_on: date, ended_on: date | None) -> Placement:
    placement = Placement(trainee_id=trainee.id, site_id=site.id,
                          department=trainee.specialty or "Healthcare Science",
                          specialty=trainee.specialty, supervisor_name="Dr Alex Morgan",
                          started_on=started_on, ended_on=ended_on)
    db.session.add(placement)
    db.session.flush()
    return placement


def seed_workplaces(current: list[User], earlier: list[User], *, today: date) -> None:
    """Organisations, placements and affordances answers for the demo's two intakes."""
    sites = {**_organisation(ORGANISATION, ORGANISATION_SITES),
             **_organisation(OTHER_ORGANISATION, OTHER_SITES)}
    people = [t for t in current + earlier if t.site in sites]
    if db.session.scalar(db.select(Placement.id).where(
            Placement.trainee_id.in_([t.id for t in people])).limit(1)) is not None:
        return
    form = questionnaire()
    version_id = snapshot(form).id  # type: ignore[arg-type]  # an Instrument's fields
    started = today - timedelta(days=CURRENT_STARTED_DAYS_AGO)
    for trainee in people:
        site = sites[trainee.site]  # type: ignore[index]
        if trainee in earlier:
            # Last year's intake: a first placement (their closed cycle's), then this one.
            first = _place(trainee, site, today - timedelta(days=EARLIER_FIRST_DAYS_AGO),
                           started - timedelta(days=1))
            _answer(trainee, first, version_id, form.item_keys,
                    first.started_on + timedelta(days=60), shared=False)
        placement = _place(trainee, site, started, None)
        _answer(trainee, placement, version_id, form.item_keys, started + timedelta(days=30),
                shared=trainee.name == SHARING_TRAINEE)
    db.session.flush()
