"""Feedback cycles from the trainee's side: create, nominate, launch, remind and close.

The trainee only ever learns counts of responses per group, never which colleague answered
(DESIGN.md, Anonymity rule 6): nothing here tells them whether a given invitation completed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from flask import current_app

from .. import audit, mail
from ..extensions import db
from ..instruments import Instrument, load_directory, snapshot
from ..models import FeedbackCycle, Invitation, Response, User
from . import DomainError, cycle_attributes, nominee_approval, unsealing
from .instrument_cache import instrument_for
from .nominee_addresses import Nomination, check_nomination
from .summaries import KEPT_COMMENTS, store_summary
from .surveys import survey_link

DEFAULT_WEEKS_OPEN = 6
MAX_DAYS_OPEN = 90
NOMINEE_WARNING = 25
TRAINEE_REMINDER_GAP = timedelta(days=3)


def today() -> date:
    return datetime.now(UTC).date()


def available_instruments() -> dict[str, Instrument]:
    return _instruments_in(current_app.config["INSTRUMENTS_DIR"], _directory_stamp())


def _directory_stamp() -> tuple[tuple[str, int], ...]:
    """Names and modification times: an edited file is re-read, an unchanged one is not."""
    directory = Path(current_app.config["INSTRUMENTS_DIR"])
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in directory.glob("*.yaml")))


@lru_cache(maxsize=8)
def _instruments_in(directory: str, _stamp: tuple[tuple[str, int], ...]) -> dict[str, Instrument]:
    return load_directory(directory)


def create_cycle(trainee: User, *, instrument_key: str, title: str,
                 closes_on: date | None, created_by: User | None = None) -> FeedbackCycle:
    """A draft cycle for ``trainee``; ``created_by`` is whoever asked (a programme lead opening
    cycles for a cohort), the trainee by default."""
    instruments = available_instruments()
    if instrument_key not in instruments:
        raise DomainError("Select a questionnaire", field="instrument")
    closes_on = closes_on or today() + timedelta(weeks=DEFAULT_WEEKS_OPEN)
    check_close_date(closes_on)
    version = snapshot(instruments[instrument_key])
    cycle = FeedbackCycle(trainee=trainee, instrument_version=version,
                          title=title.strip() or version.title, closes_on=closes_on)
    db.session.add(cycle)
    db.session.flush()
    audit.record(created_by or trainee, "cycle.created", f"cycle:{cycle.id}")
    return cycle


def check_close_date(closes_on: date) -> None:
    if closes_on <= today():
        raise DomainError("The closing date must be in the future", field="closes_on")
    if closes_on > today() + timedelta(days=MAX_DAYS_OPEN):
        raise DomainError(f"The closing date must be within {MAX_DAYS_OPEN} days",
                          field="closes_on")


# --- Nominations ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NominationProblem:
    line: int
    text: str
    message: str


def active_invitations(cycle: FeedbackCycle) -> list[Invitation]:
    return [i for i in cycle.invitations if i.removed_at is None]


def nominee_problems(cycle: FeedbackCycle, *, name: str | None, email: str | None,
                     group: str | None) -> None:
    """``check_nomination`` for the one-colleague form: its rules, nothing added."""
    check_nomination(cycle, instrument_for(cycle), name, email, group, _taken(cycle))


def nominate(cycle: FeedbackCycle, *, name: str, email: str, group: str) -> Invitation:
    """Add one colleague; on an open cycle they are invited at once."""
    _require_status(cycle, ("draft", "open"), "You can only add colleagues before the cycle closes")
    instrument = instrument_for(cycle)
    nomination = check_nomination(cycle, instrument, name, email, group, _taken(cycle))
    return _add_invitation(cycle, nomination)


def nominate_many(cycle: FeedbackCycle, text: str) -> tuple[list[Invitation],
                                                              list[NominationProblem]]:
    """Lines of ``name, email, group``: good lines are added, each bad line says why."""
    _require_status(cycle, ("draft", "open"), "You can only add colleagues before the cycle closes")
    instrument = instrument_for(cycle)
    taken = _taken(cycle)
    added: list[Invitation] = []
    problems: list[NominationProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [part.strip() for part in line.replace("\t", ",").split(",")]
        if len(parts) != 3:
            problems.append(NominationProblem(
                number, line, "Write each colleague as: name, email, group"))
            continue
        try:
            nomination = check_nomination(cycle, instrument, *parts, taken=taken)
        except DomainError as error:
            problems.append(NominationProblem(number, line, error.message))
            continue
        taken[nomination.identity] = (nomination.email, f" on line {number}")
        added.append(_add_invitation(cycle, nomination))
    return added, problems


def _taken(cycle: FeedbackCycle) -> dict[str, tuple[str, str]]:
    """Who is on the list now; a withdrawn colleague may be added back like anyone else."""
    return {i.rater_identity: (i.rater_email, "") for i in active_invitations(cycle)}


def _add_invitation(cycle: FeedbackCycle, nomination: Nomination) -> Invitation:
    invitation = next((i for i in cycle.invitations if i.rater_identity == nomination.identity),
                      None)
    if invitation is None:
        invitation = Invitation(cycle=cycle, rater_name=nomination.name,
                                rater_email=nomination.email, rater_identity=nomination.identity,
                                rater_group=nomination.group, token_nonce=secrets.token_hex(16))
        db.session.add(invitation)
    else:
        # Added back after being withdrawn: the row shows what the trainee typed now, whatever
        # that colleague had done, so the list never tells who had answered.
        invitation.rater_name, invitation.rater_group = nomination.name, nomination.group
        invitation.rater_email, invitation.removed_at = nomination.email, None
        if invitation.status in ("completed", "declined"):
            # They have given their reply (answers that count, or a decline): not asked again,
            # and every count stays as it was, so the trainee is told nothing else.
            db.session.flush()
            return invitation
        invitation.token_nonce = secrets.token_hex(16)  # asked again, with a new link
        invitation.status, invitation.completed_on, invitation.draft = "pending", None, None
        invitation.decline_reason = None
    db.session.flush()
    # Where the coach approves the list, a colleague added after launch waits for approval.
    if cycle.status == "open" and not nominee_approval.required(cycle):
        send_invitation(invitation)
    return invitation


def remove_invitation(cycle: FeedbackCycle, invitation_id: int) -> Invitation:
    """Withdraw a request. Its link stops working at once; answers already given stay, unlinked."""
    _require_status(cycle, ("draft", "open"), "Colleagues cannot be removed after the cycle closes")
    invitation = next((i for i in cycle.invitations if i.id == invitation_id), None)
    if invitation is None or invitation.removed_at is not None:
        raise DomainError("That colleague is not on this cycle")
    if cycle.status == "draft":
        cycle.invitations.remove(invitation)
        db.session.delete(invitation)
    else:
        invitation.removed_at = datetime.now(UTC)
        invitation.token_nonce = secrets.token_hex(16)
        invitation.draft = None
    db.session.flush()
    return invitation


# --- The validity rule -----------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    """How far a cycle is from meeting its instrument's validity rule."""

    count: int
    required: int
    senior: int
    senior_required: int

    @property
    def met(self) -> bool:
        return self.count >= self.required and self.senior >= self.senior_required


def nomination_progress(cycle: FeedbackCycle) -> Progress:
    instrument = instrument_for(cycle)
    nominees = active_invitations(cycle)
    senior = sum(1 for i in nominees if i.rater_group in instrument.senior_group_keys)
    return Progress(len(nominees), instrument.validity.min_responses, senior,
                    instrument.validity.min_senior)


def response_counts(cycle: FeedbackCycle) -> dict[str, int]:
    """Responses per rater group that count under the rule (enough items rated). Never who.

    While the cycle is open its responses are sealed, and are opened here to be counted.
    """
    instrument = instrument_for(cycle)
    needed = instrument.validity.min_rated_fraction * len(instrument.items)
    if cycle.status == "open":
        return unsealing.counted_by_group([cycle.id], lambda _: needed).get(cycle.id, {})
    if cycle.summary is not None and KEPT_COMMENTS in cycle.summary.report:
        # Its answers are purged (services.retention): the summary counted them at close.
        return {group: n for group, n in cycle.summary.report["group_counts"].items() if n}
    from ..models import Answer

    rated = (db.select(Response.rater_group, db.func.count(Answer.score).label("rated"))
             .join(Answer, Answer.response_id == Response.id, isouter=True)
             .where(Response.cycle_id == cycle.id, ~Response.is_self)
             .group_by(Response.id, Response.rater_group).subquery())
    rows = db.session.execute(
        db.select(rated.c.rater_group, db.func.count())
        .where(rated.c.rated >= needed).group_by(rated.c.rater_group)).all()
    return {group: count for group, count in rows}


def response_progress(cycle: FeedbackCycle) -> Progress:
    instrument = instrument_for(cycle)
    counts = response_counts(cycle)
    senior = sum(n for g, n in counts.items() if g in instrument.senior_group_keys)
    return Progress(sum(counts.values()), instrument.validity.min_responses, senior,
                    instrument.validity.min_senior)


# --- Launch, reminders, closing ----------------------------------------------------------------

def launch(cycle: FeedbackCycle) -> int:
    """Open the cycle and queue one invitation email per nominee, in the caller's transaction."""
    _require_status(cycle, ("draft",), "This cycle has already been launched")
    progress = nomination_progress(cycle)
    if not progress.met:
        raise DomainError("Nominate enough colleagues to meet the rule before you launch")
    nominee_approval.check_approved(cycle)
    check_close_date(cycle.closes_on)
    cycle.status = "open"
    cycle.opened_at = datetime.now(UTC)
    cycle.opens_on = today()
    invitations = active_invitations(cycle)
    for invitation in invitations:
        send_invitation(invitation)
    audit.record(cycle.trainee, "cycle.launched", f"cycle:{cycle.id}",
                 invitations=len(invitations))
    return len(invitations)


def send_invitation(invitation: Invitation, *, reminder: bool = False) -> None:
    cycle = invitation.cycle
    instrument = instrument_for(cycle)
    group = instrument.group(invitation.rater_group)
    template = "survey_reminder" if reminder else "survey_invitation"
    subject = (f"Reminder: {cycle.trainee.name} would value your feedback" if reminder
               else f"{cycle.trainee.name} asks for your feedback on their leadership")
    mail.queue(invitation.rater_email, subject, template, invitation=invitation, cycle=cycle,
               trainee=cycle.trainee, group=group, instrument=instrument,
               link=survey_link(invitation),
               minutes=max(5, round(len(instrument.items) / 4)))
    invitation.last_sent_at = datetime.now(UTC)
    if reminder:
        invitation.reminded_count += 1
    else:
        invitation.sent_count += 1
        if invitation.status == "pending":
            invitation.status = "sent"


def awaiting_answer(cycle: FeedbackCycle) -> list[Invitation]:
    return [i for i in active_invitations(cycle) if i.status in ("sent", "opened")]


def remind_now(cycle: FeedbackCycle) -> int:
    """The trainee's "remind those who have not answered", at most once every three days."""
    _require_status(cycle, ("open",), "Reminders can only be sent while the cycle is open")
    now = datetime.now(UTC)
    if cycle.last_trainee_reminder_at and now - cycle.last_trainee_reminder_at \
            < TRAINEE_REMINDER_GAP:
        next_time = cycle.last_trainee_reminder_at + TRAINEE_REMINDER_GAP
        raise DomainError(f"You sent reminders recently. You can send more from "
                          f"{next_time:%-d %B at %H:%M} (UTC).")
    waiting = awaiting_answer(cycle)
    for invitation in waiting:
        send_invitation(invitation, reminder=True)
    cycle.last_trainee_reminder_at = now
    return len(waiting)


# Scheduled reminders: (days before the close date, reminders already sent).
REMINDER_SCHEDULE = ((7, 0), (2, 1))
MIN_GAP_BETWEEN_EMAILS = timedelta(days=2)


def send_scheduled_reminders(on: date) -> int:
    """Spaced reminders to colleagues who have not answered. Idempotent: each is sent once."""
    sent = 0
    now = datetime.now(UTC)
    cycles = db.session.scalars(db.select(FeedbackCycle).where(
        FeedbackCycle.status == "open", FeedbackCycle.closes_on >= on)).all()
    for cycle in cycles:
        days_left = (cycle.closes_on - on).days
        for invitation in awaiting_answer(cycle):
            due = any(days_left <= days and invitation.reminded_count == already
                      for days, already in REMINDER_SCHEDULE)
            recently = invitation.last_sent_at and \
                now - invitation.last_sent_at < MIN_GAP_BETWEEN_EMAILS and days_left > 2
            if due and not recently:
                send_invitation(invitation, reminder=True)
                sent += 1
    return sent


def close_cycle(cycle: FeedbackCycle, *, by: User | None, early: bool = False) -> None:
    """Close an open cycle: its sealed responses become anonymous rows, its summary is stored.

    All in the caller's one transaction, with the cycle row locked: a submit racing the close
    either committed before (its sealed row is written out here) or waits and then finds the
    cycle closed. A failure anywhere leaves the cycle open and wholly sealed.
    """
    _lock(cycle.id)
    _require_status(cycle, ("open",), "Only an open cycle can be closed")
    if early and not response_progress(cycle).met:
        raise DomainError("You can close early once enough colleagues have answered to meet "
                          "the rule")
    cycle.status = "closed"
    cycle.closed_at = datetime.now(UTC)
    cycle_attributes.record_at_close(cycle)
    # SQLite: this first write takes the database's write lock, so no submit commits between
    # reading the sealed rows and deleting them.
    db.session.flush()
    unsealing.write_out(cycle.id)
    for invitation in cycle.invitations:
        invitation.draft = None  # unfinished answers are never used: do not keep them
    store_summary(cycle)
    audit.record(by, "cycle.closed", f"cycle:{cycle.id}", early=early)


def _lock(cycle_id: int) -> FeedbackCycle | None:
    """The cycle, re-read under a row lock (PostgreSQL; SQLite has one writer at a time)."""
    return db.session.scalars(
        db.select(FeedbackCycle).where(FeedbackCycle.id == cycle_id).with_for_update()
        .execution_options(populate_existing=True)).one_or_none()


def due_cycle_ids(on: date) -> list[int]:
    """Open cycles whose closing date is before ``on``."""
    return list(db.session.scalars(db.select(FeedbackCycle.id).where(
        FeedbackCycle.status == "open", FeedbackCycle.closes_on < on)
        .order_by(FeedbackCycle.id)))


def close_due_cycle(cycle_id: int) -> bool:
    """Close one due cycle; False if it is no longer open (another run closed it meanwhile).

    ``flask close-due-cycles`` commits after each, so a failure costs only that cycle, which
    stays sealed and open for the next run.
    """
    cycle = _lock(cycle_id)
    if cycle is None or cycle.status != "open":
        return False
    close_cycle(cycle, by=None)
    return True


def _require_status(cycle: FeedbackCycle, allowed: tuple[str, ...], message: str) -> None:
    if cycle.status not in allowed:
        raise DomainError(message)
