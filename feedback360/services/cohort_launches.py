"""Cohort launches: a programme lead opens one draft cycle for every trainee of a cohort.

Each cycle is made by ``cycles.create_cycle``, so it obeys every rule a trainee's own cycle does;
from then on it is the trainee's, to self-assess, nominate colleagues and launch. A trainee who
already has a draft or open cycle is skipped (a second one would split their colleagues between
two questionnaires) and the lead is told who and why, before and after launching.

While a launch is running the lead can open cycles in it for the cohort's trainees it has none
for (who joined the cohort later, or whose other cycle has since closed): the same rules, the
launch's questionnaire, title and closing date (:func:`add_to_launch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .. import audit, mail
from ..extensions import db
from ..instruments import Instrument, snapshot
from ..models import AuditEvent, Cohort, CohortLaunch, CohortLaunchCycle, FeedbackCycle, User
from ..urls import absolute_url
from . import DomainError, accounts, coaching, cycles

SKIP_HAS_CYCLE = "Already has a draft or open feedback cycle"
SKIP_DEACTIVATED = "Account deactivated"
JOINED_LATER = "Not in the cohort when the launch opened"
# the reasons a launch recorded, as the progress page tells them afterwards
WHY_SKIPPED = {SKIP_HAS_CYCLE: "Had a draft or open feedback cycle of their own",
               SKIP_DEACTIVATED: "Account was deactivated"}
OPEN = ("draft", "open")


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
    without_coach: list[User]  # of ``trainees``: nobody could release their reports

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
    busy = _busy_trainees(cohort)
    trainees: list[User] = []
    skipped: list[SkippedTrainee] = []
    for member in members:
        reason = _why_not(member, busy)
        if reason:
            skipped.append(SkippedTrainee(member, reason))
        else:
            trainees.append(member)
    if not trainees:
        raise DomainError(_nobody_to_launch_for(cohort, skipped))
    coached = set(db.session.scalars(db.select(User.id).where(
        User.cohort_id == cohort.id, coaching.has_active_coach())))
    return LaunchPlan(cohort=cohort, instrument=instruments[instrument_key], title=title,
                      closes_on=closes_on, trainees=trainees, skipped=skipped,
                      without_coach=[t for t in trainees if t.id not in coached])


def _busy_trainees(cohort: Cohort) -> set[int]:
    return set(db.session.scalars(
        db.select(FeedbackCycle.trainee_id).distinct()
        .join(User, User.id == FeedbackCycle.trainee_id)
        .where(User.cohort_id == cohort.id, FeedbackCycle.status.in_(OPEN))))


def _why_not(member: User, busy: set[int]) -> str | None:
    """Why this trainee cannot be given a cycle now; None if they can."""
    if not member.active:
        return SKIP_DEACTIVATED
    return SKIP_HAS_CYCLE if member.id in busy else None


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


@dataclass(frozen=True)
class MissingTrainee:
    """A trainee now in the launch's cohort without a cycle in the launch."""

    trainee: User
    at_launch: str  # why they got none when it opened
    now: str | None  # why one cannot be opened now; None when it can


def is_running(launch: CohortLaunch) -> bool:
    """Still collecting: its closing date is ahead and some cycle of it is draft or open (once
    all have closed the cohort report counts it, and a new cycle would take it back out)."""
    if launch.closes_on <= cycles.today():
        return False
    return db.session.scalar(
        db.select(db.func.count()).select_from(CohortLaunchCycle)
        .join(FeedbackCycle, FeedbackCycle.id == CohortLaunchCycle.cycle_id)
        .where(CohortLaunchCycle.launch_id == launch.id,
               FeedbackCycle.status.in_(OPEN))) > 0


def missing_from(launch: CohortLaunch) -> list[MissingTrainee]:
    """The cohort's trainees the launch has no cycle for, by name."""
    included = db.select(CohortLaunchCycle.trainee_id).where(
        CohortLaunchCycle.launch_id == launch.id)
    members = db.session.scalars(
        db.select(User).where(User.cohort_id == launch.cohort_id, User.role == "trainee",
                              User.id.not_in(included))
        .order_by(User.name, User.id)).all()
    if not members:
        return []
    recorded = {}
    for event in db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.action == "cohort.launched",
            AuditEvent.target == f"cohort_launch:{launch.id}")):
        recorded.update({skip["trainee_id"]: WHY_SKIPPED.get(skip["reason"], skip["reason"])
                         for skip in (event.detail or {}).get("skipped", [])})
    busy = _busy_trainees(launch.cohort)
    return [MissingTrainee(member, recorded.get(member.id, JOINED_LATER), _why_not(member, busy))
            for member in members]


def add_to_launch(launch: CohortLaunch, *, added_by: User) -> list[User]:
    """Open a draft cycle in this running launch for every missing trainee the rules allow,
    on its questionnaire, title and closing date, and email each of them (flushed)."""
    check_cohort(launch.cohort)
    if not is_running(launch):
        raise DomainError("This launch is no longer running (its closing date has passed or "
                          "all its cycles have closed), so no cycle can be added to it. Start a "
                          "new launch instead.")
    instrument = cycles.available_instruments().get(launch.instrument_version.key)
    if instrument is None or instrument.sha256 != launch.instrument_version.sha256:
        raise DomainError("The questionnaire has changed since this launch opened, so a cycle "
                          "added now would not be comparable. Start a new launch instead.")
    trainees = [missing.trainee for missing in missing_from(launch) if missing.now is None]
    if not trainees:
        raise DomainError("Every trainee of the cohort without a cycle in this launch has a "
                          "deactivated account or another draft or open cycle: there is nobody "
                          "to add.")
    for trainee in trainees:
        cycle = cycles.create_cycle(trainee, instrument_key=instrument.key, title=launch.title,
                                    closes_on=launch.closes_on, created_by=added_by)
        db.session.add(CohortLaunchCycle(cycle_id=cycle.id, launch_id=launch.id,
                                         trainee_id=trainee.id))
        _email_trainee(trainee, cycle, launch, instrument)
    db.session.flush()
    audit.record(added_by, "cohort.launch_extended", f"cohort_launch:{launch.id}",
                 cohort_id=launch.cohort_id, trainee_ids=[t.id for t in trainees])
    return trainees


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
