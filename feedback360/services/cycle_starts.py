"""A trainee starting a feedback cycle of their own, when one may already be in progress.

The new-cycle form comes filled in, so every click of its button used to make another identical
draft, and a trainee whose programme had opened a cycle for them could start a second beside it.
A trainee with a draft or open cycle is told where it is and must say, on purpose, that they want
another; the page carries the newest cycle it showed (``seen``), so a second click of the same
button, or another tab, never makes a second cycle the trainee was not shown.
"""

from __future__ import annotations

from datetime import date

from ..extensions import db
from ..models import FeedbackCycle, User
from . import DomainError, DomainErrors
from .cycles import available_instruments, check_close_date, create_cycle

IN_PROGRESS = ("draft", "open")


def in_progress(trainee: User) -> list[FeedbackCycle]:
    """The trainee's draft and open cycles, newest first."""
    return list(db.session.scalars(
        db.select(FeedbackCycle)
        .where(FeedbackCycle.trainee_id == trainee.id, FeedbackCycle.status.in_(IN_PROGRESS))
        .order_by(FeedbackCycle.id.desc())))


def newest_id(cycles: list[FeedbackCycle]) -> int:
    return max((cycle.id for cycle in cycles), default=0)


def start_own_cycle(trainee: User, *, instrument_key: str, title: str, closes_on: date | None,
                    another: bool, seen: int) -> FeedbackCycle:
    """A draft for ``trainee``, unless one is in progress and they have not asked for another
    knowing of it (``another``, with ``seen`` the newest cycle the page showed them)."""
    _serialise_starts(trainee)
    current = in_progress(trainee)
    if current:
        cycle = current[0]
        what = f"“{cycle.title}” ({'a draft' if cycle.status == 'draft' else 'open'})"
        if newest_id(current) > seen:
            # Made since the page was drawn: a double click, or another tab.
            raise DomainError(f"You already have a feedback cycle in progress: {what}. Carry on "
                              "with it, or tick the box to start another as well", field="another")
        if not another:
            raise DomainError(f"You already have a feedback cycle in progress: {what}. Tick the "
                              "box if you want to start another as well", field="another")
    return create_cycle(trainee, instrument_key=instrument_key, title=title, closes_on=closes_on)


def check_new_cycle(instrument_key: str | None, closes_on: date | None) -> None:
    """The rules ``create_cycle`` applies to what the form sent, all at once (``DomainErrors``);
    a closing date the form could not read is the form's to report."""
    problems: list[DomainError] = []
    if instrument_key not in available_instruments():
        problems.append(DomainError("Select a questionnaire", field="instrument"))
    if closes_on is not None:
        try:
            check_close_date(closes_on)
        except DomainError as error:
            problems.append(error)
    DomainErrors.raise_any(problems)


def _serialise_starts(trainee: User) -> None:
    """One start at a time per trainee: a write to their row (changing nothing) holds the row on
    PostgreSQL and the database's write lock on SQLite, whose other writers wait for it, until
    the request commits; the check for a cycle in progress then sees any start committed
    before."""
    db.session.execute(db.update(User).where(User.id == trainee.id)
                       .values(session_nonce=User.session_nonce)
                       .execution_options(synchronize_session=False))
