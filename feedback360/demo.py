"""Demo data for ``flask seed-demo``: a programme lead, two coaches and an intake of trainees.

Running it again changes nothing: it finds the accounts it made before.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from .demo_cycles import seed_demo_cycles
from .extensions import db
from .models import CoachAssignment, Cohort, User
from .passwords import hash_password

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
COACHES = [("Dr Priya Sharma", "coach.sharma"), ("Dr Tom Fletcher", "coach.fletcher")]
ADMIN = ("Helen Bradshaw", "programme.lead")


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


def seed_demo(password: str) -> list[tuple[str, str]]:
    """Create (or find) the demo accounts; returns (role, email) pairs to print."""
    password_hash = hash_password(password)  # one hash for all: argon2 is slow on purpose
    cohort = db.session.scalar(db.select(Cohort).where(Cohort.name == COHORT_NAME))
    if cohort is None:
        cohort = Cohort(name=COHORT_NAME, programme="Scientist Training Programme",
                        intake_year=2026)
        db.session.add(cohort)
    admin = _account(ADMIN[0], ADMIN[1], "admin", password_hash)
    coaches = [_account(name, local, "coach", password_hash) for name, local in COACHES]
    trainees = []
    for name, specialty, year, site in TRAINEES:
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
    seed_demo_cycles(trainees, coaches)
    return [("admin", admin.email), *[("coach", c.email) for c in coaches],
            *[("trainee", t.email) for t in trainees]]
