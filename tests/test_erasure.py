"""Erasure: an admin erases one person, found by email, after a confirmation page.

A trainee's cycles and all that hangs on them go, their account is anonymised (audit rows point at
it) and their cohort's analysis is rebuilt, the result page saying which cohort's figures changed.
A rater's name, address and decline reason are blanked on every invitation, which stays so the
counts do not move. Afterwards the erased name and address are nowhere in the database but in
audit events written before the erasure (which cannot be changed: a documented limit).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import (
    add_rater_responses,
    audit_events,
    csrf_token,
    form_fields,
    text_of,
    texts_in_database,
)

from feedback360.extensions import db
from feedback360.models import (
    Answer,
    AuditEvent,
    CoachAssignment,
    CoachNote,
    Comment,
    CycleScore,
    CycleSummary,
    DevelopmentGoal,
    FeedbackCycle,
    Invitation,
    OutboxMessage,
    Response,
    StoredCohortAnalysis,
    User,
)
from feedback360.services import DomainError, cohort_analyses, cycles, erasure, reviews, surveys

FIND = "/admin/erasure"
CONFIRM = "/admin/erasure/confirm"
TRAINEE, TRAINEE_NAME = "bea@nhs.net", "Bea Bee"
RATER, RATER_NAME = "rater.one@nhs.net", "Rhoda Rater"


def _released_cycle(owner: User, coach: User, title: str, first_rater: str | None = None
                    ) -> FeedbackCycle:
    """A cycle of ``owner``'s that 12 raters (and the trainee) answered, released by ``coach``
    (``coach`` need not be theirs)."""
    cycle = cycles.create_cycle(owner, instrument_key="clcf", title=title,
                                closes_on=date.today() + timedelta(days=30))
    groups = ["supervisor", "senior", *["peer"] * 10]
    for number, group in enumerate(groups):
        named = number == 0 and first_rater is not None
        cycles.nominate(cycle, name=RATER_NAME if named else f"Rater {number}",
                        email=first_rater if named else f"r{number}.{owner.id}@nhs.net",
                        group=group)
    cycles.launch(cycle)
    add_rater_responses(cycle, groups, [f"Remark {number}" for number in range(len(groups))])
    items = cycles.instrument_for(cycle).item_keys
    own = Response(cycle_id=cycle.id, is_self=True)
    own.answers = [Answer(item_key=key, score=4) for key in items]
    db.session.add(own)
    for invitation in cycle.invitations:
        invitation.status, invitation.completed_on = "completed", date.today()
    cycles.close_cycle(cycle, by=coach)
    cycle.status, cycle.released_at, cycle.released_by_id = \
        "released", datetime.now(UTC), coach.id
    return cycle


@pytest.fixture
def world(app, make_user, make_cohort):
    """Trainee Bea (in a cohort) with a released cycle (raters' answers and comments, her own,
    a goal, a coach note, her coach) and a draft cycle that RATER declined; RATER also rated
    Bea's released cycle. Cy, in the same cohort, has a released cycle and asked RATER too."""
    cohort = make_cohort("B's intake")
    trainee = make_user(TRAINEE, name=TRAINEE_NAME, cohort=cohort, specialty="Audiology")
    other = make_user("cy@nhs.net", name="Cy Sea", cohort=cohort)
    coach = make_user("coach@nhs.net", role="coach", name="Xan Coach")
    make_user("admin@nhs.net", role="admin", name="Ada Admin")
    with app.test_request_context():
        owner, coach_user = db.session.get(User, trainee.id), db.session.get(User, coach.id)
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        cycle = _released_cycle(owner, coach_user, "Bea's first 360", first_rater=RATER)
        reviews.add_note(cycle, coach_user, "Talked about delegation")
        db.session.add(DevelopmentGoal(cycle_id=cycle.id, author_id=trainee.id,
                                       domain_key="managing-services", action="Chair a meeting"))
        _released_cycle(db.session.get(User, other.id), coach_user, "Cy's first 360")
        second = cycles.create_cycle(owner, instrument_key="clcf", title="Bea's second 360",
                                     closes_on=date.today() + timedelta(days=30))
        cycles.nominate(second, name=RATER_NAME, email=RATER, group="supervisor")
        surveys.decline(second.invitations[0], "On leave that fortnight")
        theirs = cycles.create_cycle(db.session.get(User, other.id), instrument_key="clcf",
                                     title="Cy's 360", closes_on=date.today() + timedelta(days=30))
        cycles.nominate(theirs, name=RATER_NAME, email=RATER, group="peer")
        db.session.commit()
        # the published analysis as the lead last saw it
        cohort_analyses.refresh([cohort.id])
        return {"cycle_ids": [cycle.id, second.id], "other_cycle": theirs.id,
                "trainee_id": trainee.id, "cohort_id": cohort.id}


@pytest.fixture
def admin(client, login):  # type: ignore[no-untyped-def]
    assert login(client, "admin@nhs.net").status_code == 302
    return client


def confirm_page(client, email: str):  # type: ignore[no-untyped-def]
    page = client.get(FIND)
    return client.post(FIND, data={"email": email, "csrf_token": csrf_token(page)})


def erase(client, email: str, typed: str | None = None):  # type: ignore[no-untyped-def]
    page = confirm_page(client, email)
    assert page.status_code == 200, text_of(page)
    fields = form_fields(page, action=CONFIRM)
    return client.post(CONFIRM, data={**fields, "confirmation": email if typed is None
                                      else typed})


def count(model, *where) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


@pytest.mark.parametrize(("min_trainees", "said"), [
    (1, "The published figures of B's intake changed"),
    # two trainees are too few to publish anything: nothing published could change
    (5, "no published cohort figure changed")])
def test_a_trainees_erasure_removes_each_kind_and_rebuilds_the_cohort_analysis(
        app, world, admin, min_trainees, said):
    app.config["COHORT_MIN_TRAINEES"] = min_trainees
    with app.app_context():
        cohort_analyses.refresh([world["cohort_id"]])
        # the comparison itself finds no change where there is none (no NaN in a report)
        published = erasure.published_figures([world["cohort_id"]])
        assert published[world["cohort_id"]] is not None
        assert erasure.published_figures([world["cohort_id"]]) == published
    ids = world["cycle_ids"]
    page = text_of(confirm_page(admin, TRAINEE.upper()))
    assert "This cannot be undone" in page and "2 feedback cycles" in page
    assert "1 development plan goal" in page and "plan goals" not in page
    assert "B's intake" in page
    assert "kept until the audit trail's retention period" in page
    with app.app_context():
        old_key = db.session.scalar(db.select(StoredCohortAnalysis.basis_key))

    done = erase(admin, TRAINEE)

    assert done.status_code == 200, text_of(done)
    assert f"{TRAINEE_NAME} is erased" in text_of(done)
    assert said in text_of(done)
    with app.app_context():
        for model, column in [(FeedbackCycle, FeedbackCycle.id), (Invitation, Invitation.cycle_id),
                              (Response, Response.cycle_id), (CycleSummary, CycleSummary.cycle_id),
                              (CycleScore, CycleScore.cycle_id),
                              (DevelopmentGoal, DevelopmentGoal.cycle_id),
                              (CoachNote, CoachNote.cycle_id)]:
            assert count(model, column.in_(ids)) == 0, model.__name__
        assert count(Response) == 13 and count(Comment) == 12  # Cy's, untouched
        assert count(CoachAssignment) == 0
        assert count(OutboxMessage, OutboxMessage.to_address == TRAINEE) == 0
        user = db.session.get(User, world["trainee_id"])
        assert (user.name, user.email) == ("Erased user", f"erased-{user.id}@invalid")
        assert user.password_hash is None and not user.active and user.cohort_id is None
        assert user.specialty is None
        # rebuilt on the cohort as it now is
        assert db.session.scalar(db.select(StoredCohortAnalysis.basis_key)) != old_key
        assert cohort_analyses.analysis(world["cohort_id"]) is not None
        # the other trainee's cycle, which RATER was asked for, is untouched
        assert count(Invitation, Invitation.cycle_id == world["other_cycle"]) == 1
        assert count(Invitation) == 13
    [(actor, target, detail)] = audit_events(app, "person.erased")
    assert target == f"user:{world['trainee_id']}" and actor is not None
    assert detail["cycles"] == 2 and detail["goals"] == 1 and detail["responses"] == 13
    assert detail["role"] == "trainee" and detail["account"] is True


def test_a_raters_erasure_blanks_their_invitations_but_keeps_the_counts(app, world, admin):
    with app.app_context():
        before = sorted(db.session.execute(db.select(Invitation.cycle_id, Invitation.status)))

    done = erase(admin, RATER)

    assert done.status_code == 200, text_of(done)
    assert "3 invitations they were sent as a colleague" in text_of(done)
    assert "published figures" not in text_of(done)
    with app.app_context():
        after = sorted(db.session.execute(db.select(Invitation.cycle_id, Invitation.status)))
        assert after == before  # the trainees' counts do not move
        blanked = db.session.scalars(db.select(Invitation).where(
            Invitation.rater_name == "Erased rater")).all()
        assert len(blanked) == 3
        assert all(i.rater_email.endswith("@invalid") and i.decline_reason is None
                   for i in blanked)
        assert count(OutboxMessage, OutboxMessage.to_address == RATER) == 0
        assert erasure.find(RATER) is None
    [(_, target, detail)] = audit_events(app, "person.erased")
    assert target is None and detail == {"account": False, "role": None,
                                         "rater_invitations": 3, "mail": detail["mail"]}


def test_a_coachs_erasure_anonymises_the_account_and_ends_their_assignments(app, world, admin):
    done = erase(admin, "coach@nhs.net")

    assert done.status_code == 200, text_of(done)
    assert "1 coach assignment" in text_of(done)
    with app.app_context():
        coach = db.session.scalar(db.select(User).where(User.role == "coach"))
        assert coach.name == "Erased user" and not coach.active
        assert count(CoachAssignment) == 0
        # the notes they wrote about a trainee are the trainee's record: kept
        assert count(CoachNote) == 1
    [(_, target, detail)] = audit_events(app, "person.erased")
    assert target == f"user:{coach.id}" and detail["role"] == "coach"


@pytest.mark.parametrize(("email", "name"), [(TRAINEE, TRAINEE_NAME), (RATER, RATER_NAME)])
def test_the_erased_email_and_name_are_nowhere_in_the_database(app, world, admin, email, name):
    with app.app_context():
        last_before = db.session.scalar(db.select(db.func.max(AuditEvent.id)))
    everywhere = texts_in_database(app)
    assert any(email in text for _, _, text in everywhere)  # the search does find them

    assert erase(admin, email).status_code == 200

    left = [(where, event) for where, event, text in texts_in_database(app)
            if email in text or name.lower() in text]
    # only audit events written before the erasure, which nothing may change (documented)
    assert all(event is not None and event <= last_before for _, event in left), left


@pytest.mark.parametrize("typed", ["", "someone.else@nhs.net"])
def test_nothing_is_erased_without_the_address_typed_to_confirm(app, world, admin, typed):
    refused = erase(admin, TRAINEE, typed=typed)

    assert refused.status_code == 400
    assert "Erase this person?" in text_of(refused)
    with app.app_context():
        assert count(FeedbackCycle, FeedbackCycle.trainee_id == world["trainee_id"]) == 2
    assert audit_events(app, "person.erased") == []
    assert admin.get(CONFIRM).status_code == 405  # a link cannot erase anyone


def test_without_the_csrf_token_nothing_is_erased(app, world, admin):
    fields = form_fields(confirm_page(admin, TRAINEE), action=CONFIRM)
    fields.pop("csrf_token")

    assert admin.post(CONFIRM, data={**fields, "confirmation": TRAINEE}).status_code == 400
    assert audit_events(app, "person.erased") == []


def test_an_admin_cannot_erase_themself(app, world, admin):
    refused = erase(admin, "admin@nhs.net")

    assert refused.status_code == 409
    assert "You cannot erase your own account" in text_of(refused)
    with app.app_context():
        assert db.session.scalar(db.select(User.name).where(User.email == "admin@nhs.net"))


def test_the_last_admin_cannot_be_erased(app, world):
    with app.test_request_context():
        person = erasure.find("admin@nhs.net")
        coach = db.session.scalar(db.select(User).where(User.role == "coach"))
        with pytest.raises(DomainError, match="last admin"):
            erasure.erase(person, by=coach)


def test_the_person_page_offers_erasure_to_unscoped_admins(app, world, admin):
    page = text_of(admin.get(f"/admin/users/{world['trainee_id']}"))
    assert f"Erase {TRAINEE_NAME}" in page
    confirm = admin.get(f"{FIND}?user={world['trainee_id']}")
    assert confirm.status_code == 200 and "Erase this person?" in text_of(confirm)
    assert "Nothing held" in text_of(confirm_page(admin, "nobody@nhs.net"))
