"""A trainee's answers to the workplace affordances questionnaire, and who may read them.

Like the GMC's National Training Survey, one trainee's answers are theirs: they read them, and
their assigned coach does only while the trainee shares that response ("share with my coach",
which they can change at any time). Nobody else reads one trainee's answers by any route:
programme leads and champions see affordances only in aggregate, under the cohort threshold and
the differencing audit (the cohort report). So the audit trail records that a trainee answered,
and about which placement, never what.

The trainee answers once in each feedback cycle (a step beside the self-assessment that never
blocks launching) and whenever a placement changes (outside any cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path

from flask import current_app

from .. import audit
from ..extensions import db
from ..instruments import snapshot
from ..instruments.affordances import (
    AffordanceQuestionnaire,
    from_stored,
    load_questionnaire,
    questionnaire_path,
)
from ..models import (
    AffordanceAnswer,
    AffordanceResponse,
    FeedbackCycle,
    InstrumentVersion,
    Placement,
    User,
)
from . import DomainError, DomainErrors
from .coaching import is_coach_of

COMMENT_MAX = 2000
ANSWERABLE_CYCLE = ("draft", "open")


def questionnaire() -> AffordanceQuestionnaire:
    """The questionnaire file as it stands (re-read when it changes)."""
    path = questionnaire_path(current_app.config["INSTRUMENTS_DIR"])
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0  # the loader names the missing file
    return _load(str(path), stamp)


@lru_cache(maxsize=4)
def _load(path: str, _stamp: int) -> AffordanceQuestionnaire:
    return load_questionnaire(Path(path))


# Snapshots never change once written: (id, sha256) is a safe key for the process (as in
# ``instrument_cache``; the sha256 because one process can meet several databases).
_stored: dict[tuple[int, str], AffordanceQuestionnaire] = {}


def questionnaire_of(response: AffordanceResponse) -> AffordanceQuestionnaire:
    """The wording a response was given on (its frozen snapshot)."""
    row: InstrumentVersion = response.instrument_version
    key = (row.id, row.sha256)
    if key not in _stored:
        _stored[key] = from_stored(row.definition, row.sha256,
                                   f"instrument_versions[{row.key} v{row.version}]")
    return _stored[key]


def responses_of(trainee: User) -> list[AffordanceResponse]:
    """Newest first."""
    return list(db.session.scalars(
        db.select(AffordanceResponse).where(AffordanceResponse.trainee_id == trainee.id)
        .order_by(AffordanceResponse.submitted_at.desc(), AffordanceResponse.id.desc())))


def response_in_cycle(cycle: FeedbackCycle) -> AffordanceResponse | None:
    return db.session.scalar(db.select(AffordanceResponse).where(
        AffordanceResponse.cycle_id == cycle.id,
        AffordanceResponse.trainee_id == cycle.trainee_id).limit(1))


def may_answer_in(cycle: FeedbackCycle) -> bool:
    return cycle.status in ANSWERABLE_CYCLE and response_in_cycle(cycle) is None


def may_read(viewer: User, response: AffordanceResponse) -> bool:
    """The one rule for reading one trainee's answers: the trainee, or their assigned coach
    while the trainee shares the response. Leads and champions never (aggregates only)."""
    if viewer.id == response.trainee_id:
        return True
    return response.shared_with_coach and is_coach_of(viewer, response.trainee_id)


def shared_with(coach: User, trainee: User) -> list[AffordanceResponse]:
    """What ``trainee`` shares with ``coach``: nothing unless ``coach`` coaches them."""
    if not is_coach_of(coach, trainee.id):
        return []
    return [response for response in responses_of(trainee) if response.shared_with_coach]


def check_answers(questionnaire: AffordanceQuestionnaire,
                  answers: Mapping[str, str | None]) -> dict[str, int | None]:
    """Every item answered, with a point of the scale or "does not apply" (``"na"``); the
    stored score (None for "does not apply"). All problems at once."""
    scores: dict[str, int | None] = {}
    problems: list[DomainError] = []
    for item in questionnaire.items:
        value = (answers.get(item.key) or "").strip()
        if value == "na":
            scores[item.key] = None
        elif value.isdigit() and len(value) <= 2 and int(value) in questionnaire.scale.points:
            scores[item.key] = int(value)
        else:
            problems.append(DomainError(f"Choose an answer for: {item.text}", field=item.key))
    DomainErrors.raise_any(problems)
    return scores


def submit(trainee: User, placement: Placement, answers: Mapping[str, str | None], *,
           comment: str | None, share: bool, cycle: FeedbackCycle | None = None
           ) -> AffordanceResponse:
    """Store the trainee's answers about ``placement`` (in ``cycle``, if given), flushed."""
    if placement.trainee_id != trainee.id:
        raise DomainError("Select one of your placements", field="placement_id")
    if cycle is not None:
        if cycle.trainee_id != trainee.id:
            raise DomainError("This is not your feedback cycle")
        if not may_answer_in(cycle):
            raise DomainError("You have already answered the placement questions for this "
                              "cycle" if cycle.status in ANSWERABLE_CYCLE else
                              "This feedback cycle has closed")
    current = questionnaire()
    scores = check_answers(current, answers)
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX:
        raise DomainError(f"The comment must be {COMMENT_MAX} characters or fewer",
                          field="comment")
    version = snapshot(current)  # type: ignore[arg-type]  # the same fields an Instrument has
    response = AffordanceResponse(
        trainee_id=trainee.id, placement_id=placement.id, instrument_version_id=version.id,
        cycle_id=cycle.id if cycle else None, comment=text, shared_with_coach=share,
        answers=[AffordanceAnswer(item_key=key, score=score) for key, score in scores.items()])
    db.session.add(response)
    db.session.flush()
    audit.record(trainee, "affordances.answered", f"placement:{placement.id}",
                 cycle=cycle.id if cycle else None, shared=share)
    return response


def set_sharing(response: AffordanceResponse, share: bool, *, by: User) -> bool:
    """Only the trainee changes whether their coach sees a response. Whether it changed."""
    if by.id != response.trainee_id:
        raise DomainError("Only the trainee who answered can change who sees their answers")
    if response.shared_with_coach == share:
        return False
    response.shared_with_coach = share
    db.session.flush()
    audit.record(by, "affordances.shared" if share else "affordances.unshared",
                 f"placement:{response.placement_id}")
    return True


def unanswered_placement(trainee: User, today: date) -> Placement | None:
    """The trainee's current placement, when they have not yet answered about it: what to
    offer after a placement change."""
    from .placements import placement_on

    placement = placement_on(trainee.id, today)
    if placement is None:
        return None
    answered = db.session.scalar(db.select(AffordanceResponse.id).where(
        AffordanceResponse.placement_id == placement.id).limit(1))
    return None if answered else placement
