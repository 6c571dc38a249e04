"""The catalogue's seed file (issue 13, point 1): it covers the whole FMLM appendix and the other
opportunities the commitment names, its shape is checked with errors naming the file and the
entry, and seeding is idempotent and never overwrites what a lead edited."""

from __future__ import annotations

import pytest

from feedback360.extensions import db
from feedback360.models import OPPORTUNITY_KINDS, LeadershipOpportunity
from feedback360.services import clcf_framework, opportunity_seed
from feedback360.services.opportunity_seed import OpportunitiesError, parse_opportunities

# The appendix of the FMLM Leadership Commitment for junior doctors (2021), every bullet word for
# word: key meetings, leadership recruitment (interview panels), shadowing and training.
APPENDIX = [
    "Quality & Safety of Care meetings*",
    "Medical Education Team meetings (Post- & Undergraduate)",
    "Risk management meetings",
    "Bronze / Silver command meetings",
    "Medical Directorate meetings",
    "Research & Innovation meetings",
    "Morbidity & Mortality Meetings",
    "MDT Meetings*",
    "Ethics Committee Meetings",
    "COVID19 / pandemic recovery meetings (where relevant)",
    "Local Negotiating Committee (LNC) Meetings (by election / nomination)",
    "Local Medical Committee (LMC) Meetings (Primary care) (by election / nomination)",
    "Integrated Care System (ICS) Meetings or equivalent (Primary Care)",
    "Practice Management meetings* (Primary Care)",
    "Primary Care Network meetings or equivalent (Primary Care)",
    "Transformation project meetings (particularly those which impact junior doctors)",
    "Director of Medical Education",
    "College Tutors or equivalent",
    "Guardian of Safe-working (where applicable, and by nomination from LNC Representatives)",
    "Chief Registrar or equivalent post",
    "LTFT / SuppoRTT Champion",
    "Chief Executive / Executive Team (Medical Director, Director of Finance / Workforce etc)",
    "Director of Medical Education / Deputy",
    "Clinical Director / Clinical Lead or equivalent",
    "GP Partner (during non-clinical activity)",
    "Shadowing / collaborative working with Graduate Management Trainees (where applicable)",
    "Local Educational/Clinical Supervisor training (to gain experience in being an Supervisor)",
    "In-house mentoring training (where applicable)",
    "In-house leadership and management training sessions (where applicable)",
]
# The other opportunities the commitment's themes name, by the kind of entry expected.
COMMITMENT = {"leadership-development-forum": "forum", "leadership-training": "training_role",
              "leadership-fellow": "training_role", "senior-leader-qa": "meeting",
              "senior-leader-mentoring": "mentoring", "trainee-forum": "forum",
              "showcase-event": "qi_project", "quality-improvement-project": "qi_project"}


@pytest.fixture
def entries(app):
    """The seed file's entries (checking element keys needs the app's instruments)."""
    with app.app_context():
        return opportunity_seed.load_opportunities()


def test_every_appendix_bullet_has_exactly_one_entry(entries):
    covered = [entry.appendix for entry in entries if entry.appendix]
    assert sorted(covered) == sorted(APPENDIX)


def test_the_commitments_other_opportunities_are_there_too(entries):
    kinds = {entry.key: entry.kind for entry in entries}
    assert {key: kinds.get(key) for key in COMMITMENT} == COMMITMENT


def test_the_file_is_valid_cached_and_develops_every_domain(app, entries):
    with app.app_context():
        assert entries is opportunity_seed.load_opportunities()
        known = clcf_framework.elements_by_key()
        domains = {known[key].domain_key for entry in entries for key in entry.elements}
        assert domains == {domain.key for domain in clcf_framework.domains()}
    assert {entry.kind for entry in entries} <= set(OPPORTUNITY_KINDS)
    # written for trainee clinical scientists as well as doctors
    assert any("scientist" in entry.description for entry in entries)


GOOD = {"key": "a", "title": "A", "kind": "meeting", "description": "D", "how_to_join": "H",
        "elements": ["teams"]}


@pytest.mark.parametrize(("data", "message"), [
    ([], "top level: must be a mapping with only 'opportunities'"),
    ({"opportunities": []}, "opportunities: must be a non-empty list"),
    ({"opportunities": [{"key": "a", "title": "A"}]},
     "opportunities[0]: must have 'key', 'title', 'kind'"),
    ({"opportunities": [{**GOOD, "extra": 1}]}, "opportunities[0]: must have 'key'"),
    ({"opportunities": [{**GOOD, "key": "A b"}]}, "opportunities[0]: key 'A b' must be"),
    ({"opportunities": [GOOD, {**GOOD, "title": "B"}]}, "opportunities[1]: duplicate key 'a'"),
    ({"opportunities": [{**GOOD, "title": " "}]},
     "opportunities[0] (a): title must be non-empty text"),
    ({"opportunities": [{**GOOD, "kind": "picnic"}]},
     "opportunities[0] (a): kind 'picnic' must be one of meeting"),
    ({"opportunities": [{**GOOD, "description": None}]},
     "opportunities[0] (a): description must be non-empty text"),
    ({"opportunities": [{**GOOD, "elements": []}]},
     "opportunities[0] (a): elements must be a non-empty list"),
    ({"opportunities": [{**GOOD, "elements": ["teams", "teams"]}]},
     "opportunities[0] (a): elements must be a non-empty list of distinct"),
    ({"opportunities": [{**GOOD, "elements": ["managing-services"]}]},
     "opportunities[0] (a): unknown CLCF element 'managing-services'"),
    ({"opportunities": [{**GOOD, "appendix": ""}]},
     "opportunities[0] (a): appendix must be non-empty text"),
])
def test_the_files_shape_is_checked_naming_file_and_entry(app, data, message):
    with app.app_context(), pytest.raises(OpportunitiesError) as raised:
        parse_opportunities(data)
    assert f"leadership_opportunities.yaml: {message}" in str(raised.value)


def _catalogue(app) -> dict[str, tuple[str, str, list[str]]]:
    with app.app_context():
        return {o.key: (o.title, o.status, [e.element_key for e in o.elements])
                for o in db.session.scalars(db.select(LeadershipOpportunity))}


def test_seeding_is_idempotent_and_keeps_a_leads_edits(app, runner):
    result = runner.invoke(args=["seed-opportunities"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        count = len(opportunity_seed.load_opportunities())
    assert f"Added {count} leadership opportunities" in result.output
    first = _catalogue(app)
    assert len(first) == count and {status for _, status, _ in first.values()} == {"open"}
    with app.app_context():
        edited = db.session.scalar(db.select(LeadershipOpportunity).filter_by(key="mdt-meeting"))
        edited.title, edited.status = "Chair the Tuesday MDT", "closed"
        db.session.delete(db.session.scalar(
            db.select(LeadershipOpportunity).filter_by(key="ethics-committee")))
        db.session.commit()
    again = runner.invoke(args=["seed-opportunities"])
    assert "Added 1 leadership opportunity" in again.output
    after = _catalogue(app)
    assert after["mdt-meeting"][:2] == ("Chair the Tuesday MDT", "closed")
    assert after["ethics-committee"] == first["ethics-committee"]
    assert "already in the catalogue" in runner.invoke(args=["seed-opportunities"]).output
    assert len(_catalogue(app)) == count


def test_the_demo_seeds_the_catalogue_once(app):
    from feedback360.demo import seed_demo

    with app.app_context():
        for _ in range(2):
            seed_demo("demo passphrase words")
            db.session.commit()
        keys = list(db.session.scalars(db.select(LeadershipOpportunity.key)))
        assert sorted(keys) == sorted(entry.key for entry in opportunity_seed.load_opportunities())
