"""How a cohort launch is going, trainee by trainee: counts against the validity rule, no scores.

The lead sees what each trainee sees of their own cycle (whether they rated themselves, how many
colleagues they nominated and how many answers count), never a score and never who answered
(DESIGN.md, Anonymity rules 3 and 6). Five grouped queries serve a launch of any size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import ScalarSelect, case, func, select

from ..extensions import db
from ..instruments import Instrument
from ..models import (
    Answer,
    CohortLaunch,
    CohortLaunchCycle,
    FeedbackCycle,
    Invitation,
    Response,
    User,
)
from . import unsealing
from .cycles import Progress
from .instrument_cache import instrument_of_version
from .response_status import ResponseStatus, disclose

# What the lead should do about a trainee, most urgent first (the order of the table).
STEPS = {
    "self_and_nominate": "Not started: remind them to rate themself and nominate colleagues",
    "nominate": "Nominating: not enough colleagues yet",
    "launch": "Ready: remind them to launch",
    "responses": "Open: waiting for enough responses",
    "enough_in_all": "Open: enough responses in all; whether enough are senior is not shown",
    "met": "Open: enough responses",
    "closed": "Closed",
}
STEP_ORDER = {step: index for index, step in enumerate(STEPS)}


@dataclass(frozen=True)
class TraineeProgress:
    cycle_id: int
    trainee_id: int
    name: str
    email: str
    activated: bool
    active: bool  # the account is not deactivated
    status: str
    self_assessed: bool
    self_in_progress: bool
    nominated: Progress
    responses: ResponseStatus  # as the trainee is told it: a total, the senior part if it may be

    @property
    def step(self) -> str:
        if self.status in ("closed", "released"):
            return "closed"
        if self.status == "open":
            if self.responses.met:
                return "met"
            enough = self.responses.count >= self.responses.required
            return "enough_in_all" if enough and not self.responses.senior_told else "responses"
        if self.nominated.met:
            return "launch"
        if self.nominated.count or self.self_assessed or self.self_in_progress:
            return "nominate"
        return "self_and_nominate"

    @property
    def next_step(self) -> str:
        return STEPS[self.step]

    @property
    def nudge_order(self) -> tuple[int, float, str]:
        """Furthest behind first: by step, then by how little of the rule is met yet."""
        progress = self.responses if self.status == "open" else self.nominated
        return (STEP_ORDER[self.step], progress.count / max(progress.required, 1),
                self.name.casefold())


@dataclass(frozen=True)
class LaunchTotals:
    trainees: int
    launched: int  # opened to colleagues (open, closed or released)
    self_assessed: int
    rule_met: int  # open or closed with enough responses under the rule
    asked: int  # colleagues asked, on launched cycles
    answered: int  # of those, how many have answered

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.asked if self.asked else None


def launch_progress(launch: CohortLaunch) -> list[TraineeProgress]:
    """One row per cycle the launch opened, the trainees furthest behind first."""
    instrument = instrument_of_version(launch.instrument_version)
    in_launch = select(CohortLaunchCycle.cycle_id).where(
        CohortLaunchCycle.launch_id == launch.id).scalar_subquery()
    cycles = db.session.execute(
        select(FeedbackCycle.id, FeedbackCycle.status, FeedbackCycle.self_draft.is_not(None),
               User.id, User.name, User.email, User.password_hash.is_not(None), User.active)
        .join(CohortLaunchCycle, CohortLaunchCycle.cycle_id == FeedbackCycle.id)
        .join(User, User.id == FeedbackCycle.trainee_id)
        .where(CohortLaunchCycle.launch_id == launch.id)).all()
    self_done = set(db.session.scalars(select(Response.cycle_id).where(
        Response.cycle_id.in_(in_launch), Response.is_self)))
    nominated, asked, declined = _invitations_by_group(in_launch)
    answered = _counted_responses_by_group(in_launch, instrument)
    k = current_app.config["ANONYMITY_MIN_GROUP"]
    rows = [
        TraineeProgress(
            cycle_id=cycle_id, trainee_id=trainee_id, name=name, email=email,
            activated=activated, active=active, status=status, self_assessed=cycle_id in self_done,
            self_in_progress=bool(has_draft),
            nominated=_against_rule(instrument, nominated.get(cycle_id, {})),
            responses=disclose(instrument, asked.get(cycle_id, {}), answered.get(cycle_id, {}),
                               k, declined.get(cycle_id, 0),
                               min_total=current_app.config["ANONYMITY_MIN_TOTAL"]))
        for cycle_id, status, has_draft, trainee_id, name, email, activated, active in cycles]
    return sorted(rows, key=lambda row: row.nudge_order)


def launch_totals(launch: CohortLaunch, rows: list[TraineeProgress]) -> LaunchTotals:
    """Everyone ever asked and the responses that count: removing a colleague changes neither,
    whatever they had done (a removed colleague's answers stay in)."""
    launched = [row for row in rows if row.status != "draft"]
    asked = db.session.scalar(
        select(func.count()).select_from(Invitation)
        .join(FeedbackCycle, FeedbackCycle.id == Invitation.cycle_id)
        .join(CohortLaunchCycle, CohortLaunchCycle.cycle_id == FeedbackCycle.id)
        .where(CohortLaunchCycle.launch_id == launch.id, FeedbackCycle.status != "draft"))
    return LaunchTotals(trainees=len(rows), launched=len(launched),
                        self_assessed=sum(row.self_assessed for row in rows),
                        rule_met=sum(row.responses.met for row in launched),
                        asked=asked or 0, answered=sum(row.responses.count for row in launched))


def _against_rule(instrument: Instrument, by_group: dict[str, int]) -> Progress:
    senior = sum(n for group, n in by_group.items() if group in instrument.senior_group_keys)
    return Progress(sum(by_group.values()), instrument.validity.min_responses, senior,
                    instrument.validity.min_senior)


def _invitations_by_group(in_launch: ScalarSelect[int]) -> tuple[
        dict[int, dict[str, int]], dict[int, dict[str, int]], dict[int, int]]:
    """Per cycle: active nominees per group, as ``cycles.nomination_progress`` counts them;
    everyone ever asked per group and the declines, as ``response_status`` counts them."""
    rows = db.session.execute(
        select(Invitation.cycle_id, Invitation.rater_group, func.count(),
               func.count(Invitation.removed_at),
               func.count(case((Invitation.status == "declined", 1))))
        .where(Invitation.cycle_id.in_(in_launch))
        .group_by(Invitation.cycle_id, Invitation.rater_group)).all()
    active: dict[int, dict[str, int]] = defaultdict(dict)
    asked: dict[int, dict[str, int]] = defaultdict(dict)
    declined: dict[int, int] = defaultdict(int)
    for cycle_id, group, everyone, removed, declines in rows:
        asked[cycle_id][group] = everyone
        if everyone > removed:
            active[cycle_id][group] = everyone - removed
        declined[cycle_id] += declines
    return active, asked, declined


def _counted_responses_by_group(in_launch: ScalarSelect[int],
                                instrument: Instrument) -> dict[int, dict[str, int]]:
    """Responses that count under the rule, per cycle and group (``cycles.response_counts``):
    the written-out responses of closed cycles and the sealed ones of open cycles, opened in the
    app to be counted (a cycle has only one kind)."""
    needed = instrument.validity.min_rated_fraction * len(instrument.items)
    counted = unsealing.counted_by_group(in_launch, lambda _: needed)
    rated = (select(Response.cycle_id, Response.rater_group,
                    func.count(Answer.score).label("rated"))
             .join(Answer, Answer.response_id == Response.id, isouter=True)
             .where(Response.cycle_id.in_(in_launch), ~Response.is_self)
             .group_by(Response.id, Response.cycle_id, Response.rater_group).subquery())
    rows = db.session.execute(
        select(rated.c.cycle_id, rated.c.rater_group, func.count())
        .where(rated.c.rated >= needed).group_by(rated.c.cycle_id, rated.c.rater_group))
    for cycle_id, groups in _nest(rows).items():
        counted[cycle_id].update(groups)
    return counted


def _nest(rows: Iterable[Any]) -> dict[int, dict[str, int]]:
    nested: dict[int, dict[str, int]] = defaultdict(dict)
    for cycle_id, group, count in rows:
        nested[cycle_id][group] = count
    return nested
