"""Demo workplaces (issue 14, point 7): an organisation with two sites, placements for the demo
trainees, affordances answers across both intakes with enough trainees per site for the
aggregates, one trainee sharing with her coach; seeding again changes nothing."""

from __future__ import annotations

from collections import defaultdict

from feedback360.demo import seed_demo
from feedback360.demo.workplace import ORGANISATION, SHARING_TRAINEE, seed_workplaces
from feedback360.extensions import db
from feedback360.models import AffordanceResponse, Organisation, Placement, User
from feedback360.services.cycles import today


def test_demo_workplaces(app):
    with app.app_context():
        seed_demo("demo passphrase words")
        db.session.commit()
        trust = db.session.scalar(db.select(Organisation).filter_by(name=ORGANISATION))
        assert len(trust.sites) == 2
        trainees = db.session.scalars(db.select(User).where(User.role == "trainee")).all()
        placed = {p.trainee_id for p in db.session.scalars(db.select(Placement))}
        assert placed == {t.id for t in trainees}
        answered = defaultdict(set)
        intakes = defaultdict(set)
        for response in db.session.scalars(db.select(AffordanceResponse)):
            answered[response.placement.site.name].add(response.trainee_id)
            intakes[response.placement.site.name].add(response.trainee.cohort_id)
            assert len(response.answers) == 6
        for site in trust.sites:
            assert len(answered[site.name]) >= app.config["COHORT_MIN_TRAINEES"]
            assert len(intakes[site.name]) == 2
        shared = db.session.scalars(db.select(AffordanceResponse)
                                    .filter_by(shared_with_coach=True)).all()
        assert {r.trainee.name for r in shared} == {SHARING_TRAINEE}
        before = db.session.scalar(db.select(db.func.count(AffordanceResponse.id)))
        seed_workplaces(trainees, [], today=today())
        assert db.session.scalar(db.select(db.func.count(AffordanceResponse.id))) == before
