"""Cohort launches: a programme lead opens one draft cycle for every trainee of a cohort.

Each cycle is made by ``cycles.create_cycle``, so it obeys every rule a trainee's own cycle does;
from then on it is the trainee's, to self-assess, nominate colleagues and launch. A trainee who
already has a draft or open cycle is skipped (a second one would split their colleagues between
two questionnaires) and the lead is told who and why, before and after launching.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .. import audit, mail
from ..extensions import db
from ..instruments import Instrument, snapshot
from ..models import Cohort, CohortLaunch, CohortLaunchCycle, FeedbackCycle, User
from ..urls import absolute_url
from . import DomainError, accounts, cycles

SKIP_HAS_CYCLE = "Already has a draft or open feedback cycle"
SKIP_DEACTIVATED = "Account deactivated"


@dataclass(frozen=True)
class SkippedTrainee:
    trainee: User
    reason: str


@dataclass(frozen=True)
class LaunchPlan:
    """What launching would do, checked against every rule: shown to the lead to confirm."""

    cohort: Cohort
    instrument: Instrument
    title: str
    closes_on: date
    trainees: list[User]
    skipped: list[SkippedTrainee]

    @property
    def not_activated(self) -> int:
        return sum(1 for trainee in self.trainees if trainee.password_hash is None)


def default_title(cohort: Cohort, on: date) -> str:
    return f"{cohort.name} 360, {on:%B %Y}"


def check_cohort(cohort: Cohort) -> None:
    if cohort.archived:
        raise DomainError(f"{cohort.name} is archived, so no feedback cycles can be opened for "
                          "it. Restore the cohort first.")


def plan_launch(cohort: Cohort, *, instrument_key: str, title: str,
                closes_on: date | None) -> LaunchPlan:
    """Check the launch and say who would get a cycle; changes nothing."""
    check_cohort(cohort)
    instruments = cycles.available_instruments()
    if instrument_key not in instruments:
        raise DomainError("Select a questionnaire", field="instrument")
    if closes_on is None:
        raise DomainError("Enter the closing date", field="closes_on")
    cycles.check_close_date(closes_on)
    title = " ".join(title.split()) or default_title(cohort, cycles.today())
    members = db.session.scalars(
        db.select(User).where(User.cohort_id == cohort.id, User.role == "trainee")
        .order_by(User.name, User.id)).all()
    busy = set(db.session.scalars(
        db.select(FeedbackCycle.trainee_id).distinct()
        .join(User, User.id == FeedbackCycle.trainee_id)
        .where(User.cohort_id == cohort.id, FeedbackCycle.status.in_(("draft", "open")))))
    trainees: list[User] = []
    skipped: list[SkippedTrainee] = []
    for member in members:
        if not member.active:
            skipped.append(SkippedTrainee(member, SKIP_DEACTIVATED))
        elif member.id in busy:
            skipped.append(SkippedTrainee(member, SKIP_HAS_CYCLE))
        else:
            trainees.append(member)
    if not trainees:
        raise DomainError(_nobody_to_launch_for(cohort, skipped))
    return LaunchPlan(cohort=cohort, instrument=instruments[instrument_key], title=title,
                      closes_on=closes_on, trainees=trainees, skipped=skipped)


def _nobody_to_launch_for(cohort: Cohort, skipped: list[SkippedTrainee]) -> str:
    if not skipped:
        return f"{cohort.name} has no trainees yet. Add trainees to the cohort first."
    if all(skip.reason == SKIP_HAS_CYCLE for skip in skipped):
        return (f"Every trainee in {cohort.name} already has a draft or open feedback cycle, so "
                "there is nobody to open one for.")
    return (f"No trainee in {cohort.name} can be given a new cycle: each has a deactivated "
            "account or already has a draft or open feedback cycle.")


def launch_for_cohort(cohort: Cohort, *, instrument_key: str, title: str, closes_on: date | None,
                      launched_by: User) -> CohortLaunch:
    """Open a draft cycle for each trainee the rules allow and email each of them (flushed)."""
    plan = plan_launch(cohort, instrument_key=instrument_key, title=title, closes_on=closes_on)
    return carry_out(plan, launched_by=launched_by)


def carry_out(plan: LaunchPlan, *, launched_by: User) -> CohortLaunch:
    """Launch a plan made in this same transaction (the view shows it, then reports its skips)."""
    version = snapshot(plan.instrument)
    launch = CohortLaunch(cohort=plan.cohort, instrument_version=version, title=plan.title,
                          closes_on=plan.closes_on, launched_by=launched_by)
    db.session.add(launch)
    db.session.flush()
    for trainee in plan.trainees:
        cycle = cycles.create_cycle(trainee, instrument_key=plan.instrument.key,
                                    title=plan.title, closes_on=plan.closes_on,
                                    created_by=launched_by)
        db.session.add(CohortLaunchCycle(cycle_id=cycle.id, launch_id=launch.id,
                                         trainee_id=trainee.id))
        _email_trainee(trainee, cycle, launch, plan.instrument)
    db.session.flush()
    audit.record(launched_by, "cohort.launched", f"cohort_launch:{launch.id}",
                 cohort_id=plan.cohort.id, instrument=f"{version.key} v{version.version}",
                 cycles=len(plan.trainees),
                 skipped=[{"trainee_id": s.trainee.id, "reason": s.reason}
                          for s in plan.skipped])
    return launch


def _email_trainee(trainee: User, cycle: FeedbackCycle, launch: CohortLaunch,
                   instrument: Instrument) -> None:
    # A trainee who has never activated their account could not sign in to follow the link:
    # the same email carries a fresh activation link, so there is one email to act on, not two.
    activation = accounts.activation_link(trainee) if trainee.password_hash is None else None
    lead = launch.launched_by
    mail.queue(trainee.email,
               f"{lead.name if lead else 'Your programme lead'} has opened your 360 leadership "
               f"feedback: rate yourself and nominate colleagues",
               "cohort_cycle_opened", trainee=trainee, cycle=cycle, launch=launch,
               cohort=launch.cohort, lead=lead, instrument=instrument, rule=instrument.validity,
               link=absolute_url("trainee.cycle", cycle_id=cycle.id),
               activation_link=activation, activation_days=accounts.activation_days())
