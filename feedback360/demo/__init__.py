"""Demo data for ``flask seed-demo``: a programme lead, two coaches and two intakes of trainees.

The current intake's cycles show every state (demo/cycles.py, PLAN). Last year's intake took part in
one cohort launch that has long closed, so its cohort report has figures by specialty,
and both intakes' reports have a trend.

Running it again changes nothing: it finds the accounts it made before.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from ..extensions import db
from ..models import (
    CoachAssignment,
    Cohort,
    CohortLaunch,
    CohortLaunchCycle,
    FeedbackCycle,
    Invitation,
    User,
)
from ..passwords import hash_password
from ..services import opportunity_seed, two_factor
from ..services.surveys import survey_link
from .champion import seed_demo_champion
from .cycles import Spec, seed_demo_cycles
from .portfolio import seed_demo_portfolio
from .workplace import seed_workplaces

DEMO_DOMAIN = "demo.feedback360.nhs.uk"
COHORT_NAME = "STP 2026 Healthcare Science"

# (name, specialty, training year, site)
TRAINEES = [
    ("Amara Okafor", "Medical Physics", 1, "Leeds General Infirmary"),
    ("Ben Hughes", "Medical Physics", 2, "Royal Preston Hospital"),
    ("Chloe Williams", "Clinical Biochemistry", 1, "Leeds General Infirmary"),
    ("Daniel Kowalski", "Clinical Biochemistry", 3, "Manchester Royal Infirmary"),
    ("Esther Mensah", "Genomics", 2, "Manchester Royal Infirmary"),
    ("Farhan Ali", "Genomics", 1, "Royal Preston Hospital"),
    ("Grace Thompson", "Audiology", 3, "Leeds General Infirmary"),
    ("Harriet Evans", "Audiology", 2, "Manchester Royal Infirmary"),
    ("Isaac Patel", "Cardiac Science", 1, "Royal Preston Hospital"),
    ("Jasmine Clarke", "Cardiac Science", 3, "Leeds General Infirmary"),
    ("Kwame Asante", "Clinical Engineering", 2, "Manchester Royal Infirmary"),
    ("Lucy Morgan", "Clinical Engineering", 1, "Royal Preston Hospital"),
]
EARLIER_COHORT_NAME = "STP 2025 Healthcare Science"
# Two specialties and two sites of five each: each specialty can be shown; the sites cannot as
# well, since each site differs from each specialty by four trainees (fewer than five).
EARLIER_TRAINEES = [
    ("Maya Bennett", "Medical Physics", 2, "Leeds General Infirmary"),
    ("Nathan Cole", "Medical Physics", 2, "Leeds General Infirmary"),
    ("Olivia Grant", "Medical Physics", 2, "Leeds General Infirmary"),
    ("Priya Nair", "Medical Physics", 2, "Manchester Royal Infirmary"),
    ("Rory Quinn", "Medical Physics", 2, "Manchester Royal Infirmary"),
    ("Sara Lindqvist", "Clinical Biochemistry", 2, "Leeds General Infirmary"),
    ("Tom Bailey", "Clinical Biochemistry", 2, "Leeds General Infirmary"),
    ("Uma Desai", "Clinical Biochemistry", 2, "Manchester Royal Infirmary"),
    ("Victor Osei", "Clinical Biochemistry", 2, "Manchester Royal Infirmary"),
    ("Wendy Harper", "Clinical Biochemistry", 2, "Manchester Royal Infirmary"),
]
EARLIER_LAUNCH = "Year 1 leadership 360"
EARLIER_PLAN = [[Spec("closed", 200, released=True)]]  # closed and released long ago
COACHES = [("Dr Priya Sharma", "coach.sharma"), ("Dr Tom Fletcher", "coach.fletcher")]
ADMIN = ("Helen Bradshaw", "programme.lead")
# The demo admin's TOTP key, printed by seed-demo: an admin cannot sign in without a second
# factor, and a demo key everyone can read is fine for data everyone can read.
DEMO_TOTP_KEY = "DEMOKEYFORFEEDBACKTHREESIXTYAAAA"


def _email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


def _account(name: str, local: str, role: str, password_hash: str, **profile: object) -> User:
    email = _email(local)
    user = db.session.scalar(db.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=role, active=True, password_hash=password_hash,
                    session_nonce=secrets.token_hex(16), activated_at=datetime.now(UTC),
                    **profile)
        db.session.add(user)
    return user


def _cohort(name: str, intake_year: int) -> Cohort:
    cohort = db.session.scalar(db.select(Cohort).where(Cohort.name == name))
    if cohort is None:
        cohort = Cohort(name=name, programme="Scientist Training Programme",
                        intake_year=intake_year)
        db.session.add(cohort)
    return cohort


def _trainees(cohort: Cohort, people: list[tuple[str, str, int, str]], coaches: list[User],
              password_hash: str) -> list[User]:
    trainees = []
    for name, specialty, year, site in people:
        local = "trainee." + name.split()[-1].lower()
        trainees.append(_account(name, local, "trainee", password_hash, cohort=cohort,
                                 specialty=specialty, training_year=year, site=site))
    db.session.flush()
    for index, trainee in enumerate(trainees):
        coach = coaches[index % len(coaches)]
        exists = db.session.scalar(db.select(CoachAssignment).where(
            CoachAssignment.coach_id == coach.id, CoachAssignment.trainee_id == trainee.id))
        if exists is None:
            db.session.add(CoachAssignment(coach=coach, trainee=trainee))
    db.session.flush()
    return trainees


def _closed_launch(cohort: Cohort, trainees: list[User], coaches: list[User],
                   lead: User) -> None:
    """The trainees' one closed cycle each, as a cohort launch by ``lead`` had opened them."""
    if db.session.scalar(db.select(CohortLaunch.id).where(CohortLaunch.cohort_id == cohort.id)):
        return
    seed_demo_cycles(trainees, coaches, plan=EARLIER_PLAN)
    cycles = list(db.session.scalars(db.select(FeedbackCycle).where(
        FeedbackCycle.trainee_id.in_([t.id for t in trainees]))))
    launch = CohortLaunch(cohort=cohort, instrument_version=cycles[0].instrument_version,
                          title=EARLIER_LAUNCH, closes_on=cycles[0].closes_on, launched_by=lead,
                          launched_at=min(c.created_at for c in cycles))
    db.session.add(launch)
    db.session.flush()
    for cycle in cycles:
        cycle.title = EARLIER_LAUNCH
        db.session.add(CohortLaunchCycle(cycle_id=cycle.id, launch_id=launch.id,
                                         trainee_id=cycle.trainee_id))
    db.session.flush()


def seed_demo(password: str) -> list[tuple[str, str]]:
    """Create (or find) the demo accounts; returns (role, email) pairs to print."""
    password_hash = hash_password(password)  # one hash for all: argon2 is slow on purpose
    cohort = _cohort(COHORT_NAME, 2026)
    earlier = _cohort(EARLIER_COHORT_NAME, 2025)
    admin = _account(ADMIN[0], ADMIN[1], "admin", password_hash)
    db.session.flush()
    if not two_factor.enrolled(admin):
        two_factor.enrol_with_secret(admin, DEMO_TOTP_KEY)
    coaches = [_account(name, local, "coach", password_hash) for name, local in COACHES]
    trainees = _trainees(cohort, TRAINEES, coaches, password_hash)
    earlier_trainees = _trainees(earlier, EARLIER_TRAINEES, coaches, password_hash)
    seed_demo_cycles(trainees, coaches)
    _closed_launch(earlier, earlier_trainees, coaches, admin)
    opportunity_seed.seed(admin)
    seed_workplaces(trainees, earlier_trainees, today=datetime.now(UTC).date())
    seed_demo_portfolio(trainees, coaches)
    # Last: the board report it produces counts the placements and portfolios above.
    champion = seed_demo_champion(password_hash, trainees + earlier_trainees, _account)
    return [("admin", admin.email), ("champion", champion.email),
            *[("coach", c.email) for c in coaches],
            *[("trainee", t.email) for t in trainees + earlier_trainees]]


def ready_rater_link() -> tuple[str, str] | None:
    """(trainee's name, survey link) of a colleague who has not started answering an open demo
    cycle, so a newcomer can try the rater's side at once; None once every one has answered.

    The earliest such invitation of the earliest open cycle, so running ``seed-demo`` again
    prints the same colleague's link until they have answered, then the next one's.
    """
    invitation = db.session.scalars(
        db.select(Invitation).join(FeedbackCycle)
        .where(FeedbackCycle.status == "open", Invitation.removed_at.is_(None),
               Invitation.status.in_(("pending", "sent", "opened")), Invitation.draft.is_(None),
               FeedbackCycle.trainee_id.in_(db.select(User.id).where(
                   User.email.endswith("@" + DEMO_DOMAIN))))
        .order_by(FeedbackCycle.id, Invitation.id).limit(1)).first()
    if invitation is None:
        return None
    return invitation.cycle.trainee.name, survey_link(invitation)
