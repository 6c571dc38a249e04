"""The trainee's activity log (issue 13, point 2): leadership they did ("doing") and leadership
education they took, each with its CLCF elements, so the balance of the two shows.

Every rule of an activity is checked here, all at once (``activity_problems``), so a form shows
each problem beside its field in one go. An activity is the trainee's own: only they add, change
or delete it; their coach reads it (``may_read``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import ColumnElement, func

from ..extensions import db
from ..models import DevelopmentGoal, FeedbackCycle, User
from ..models.portfolio import (
    ACTIVITY_KINDS,
    EDUCATION_CATEGORIES,
    OPPORTUNITY_KINDS,
    Activity,
    ActivityElement,
    LeadershipOpportunity,
)
from ..models.workplace import Placement
from . import DomainError, DomainErrors, clcf_framework, coaching

TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 5000
HOURS_MAX = 2000  # the model's hours_range

KIND_LABELS = {"doing": "Leadership activity", "education": "Leadership education"}
CATEGORY_LABELS = {
    "meeting": "Meeting", "chairing": "Chairing", "interview_panel": "Interview panel",
    "shadowing": "Shadowing", "training_role": "Training role", "qi_project": "QI project",
    "committee": "Committee", "forum": "Forum", "teaching": "Teaching", "mentoring": "Mentoring",
    "project": "Project", "other": "Other",
    "course": "Course", "observation": "Observation", "reading": "Reading",
    "other_education": "Other education",
}
CATEGORIES_BY_KIND = {"doing": OPPORTUNITY_KINDS, "education": EDUCATION_CATEGORIES}


@dataclass(frozen=True)
class ActivityValues:
    """What a form sends for one activity; ``None`` where a field could not be read."""

    kind: str | None
    category: str | None
    title: str | None
    description: str | None
    started_on: date | None
    ended_on: date | None
    hours: float | None
    element_keys: tuple[str, ...]
    went_well: str | None = ""
    do_differently: str | None = ""
    opportunity_id: int | None = None
    goal_id: int | None = None
    placement_id: int | None = None


def may_read(user: User, activity: Activity) -> bool:
    """The trainee who logged it, and their coach."""
    if user.id == activity.trainee_id:
        return True
    return user.role == "coach" and coaching.is_coach_of(user, activity.trainee_id)


def open_opportunities() -> list[LeadershipOpportunity]:
    return list(db.session.scalars(db.select(LeadershipOpportunity)
                                   .where(LeadershipOpportunity.status == "open")
                                   .order_by(LeadershipOpportunity.title)))


def goals_of(trainee: User) -> list[DevelopmentGoal]:
    """The trainee's own development goals, from every cycle of theirs."""
    return list(db.session.scalars(
        db.select(DevelopmentGoal).join(FeedbackCycle, DevelopmentGoal.cycle_id == FeedbackCycle.id)
        .where(FeedbackCycle.trainee_id == trainee.id)
        .order_by(DevelopmentGoal.due_on.is_(None), DevelopmentGoal.due_on, DevelopmentGoal.id)))


def placements_of(trainee: User) -> list[Placement]:
    return list(db.session.scalars(db.select(Placement).where(Placement.trainee_id == trainee.id)
                                   .order_by(Placement.started_on.desc())))


def placement_on(trainee: User, day: date) -> Placement | None:
    """The trainee's placement covering ``day`` (the latest started, if they overlap)."""
    return db.session.scalars(
        db.select(Placement).where(Placement.trainee_id == trainee.id,
                                   Placement.started_on <= day,
                                   (Placement.ended_on.is_(None)) | (Placement.ended_on >= day))
        .order_by(Placement.started_on.desc(), Placement.id.desc()).limit(1)).first()


def _text_problems(values: ActivityValues) -> list[DomainError]:
    problems = []
    title = (values.title or "").strip()
    if not title:
        problems.append(DomainError("Enter a title for the activity", field="title"))
    elif len(title) > TITLE_MAX_LENGTH:
        problems.append(DomainError(f"Title must be {TITLE_MAX_LENGTH} characters or fewer",
                                    field="title"))
    if not (values.description or "").strip():
        what = "what it covered" if values.kind == "education" else "what you did and your role"
        problems.append(DomainError(f"Describe {what}", field="description"))
    for field, label in (("description", "The description"), ("went_well", "What went well"),
                         ("do_differently", "What you would do differently")):
        if len(getattr(values, field) or "") > TEXT_MAX_LENGTH:
            problems.append(DomainError(f"{label} must be {TEXT_MAX_LENGTH} characters or fewer",
                                        field=field))
    return problems


def _date_problems(values: ActivityValues, today: date) -> list[DomainError]:
    problems = []
    if values.started_on is not None and values.started_on > today:
        problems.append(DomainError("Start date must be today or in the past",
                                    field="started_on"))
    if (values.started_on is not None and values.ended_on is not None
            and values.ended_on < values.started_on):
        problems.append(DomainError("End date must be the same as or after the start date",
                                    field="ended_on"))
    if values.hours is not None and not 0 <= values.hours <= HOURS_MAX:
        problems.append(DomainError(f"Time spent must be between 0 and {HOURS_MAX} hours",
                                    field="hours"))
    return problems


def _link_problems(trainee: User, values: ActivityValues) -> list[DomainError]:
    problems = []
    if values.opportunity_id is not None:
        opportunity = db.session.get(LeadershipOpportunity, values.opportunity_id)
        if opportunity is None or opportunity.status != "open":
            problems.append(DomainError("Select an open opportunity from the catalogue",
                                        field="opportunity_id"))
    if values.goal_id is not None and values.goal_id not in {g.id for g in goals_of(trainee)}:
        problems.append(DomainError("Select one of your development goals", field="goal_id"))
    if values.placement_id is not None:
        placement = db.session.get(Placement, values.placement_id)
        if placement is None or placement.trainee_id != trainee.id:
            problems.append(DomainError("Select one of your placements", field="placement_id"))
    return problems


def activity_problems(trainee: User, values: ActivityValues, *, today: date | None = None,
                      unchanged_opportunity: int | None = None) -> list[DomainError]:
    """Every rule ``values`` break. An activity already linked to an opportunity that has since
    closed keeps that link (``unchanged_opportunity``): closing it does not make the log wrong."""
    problems: list[DomainError] = []
    if values.kind not in ACTIVITY_KINDS:
        problems.append(DomainError("Select leadership activity or leadership education",
                                    field="kind"))
    elif values.category not in CATEGORIES_BY_KIND[values.kind]:
        problems.append(DomainError("Select what kind of activity it was", field="category"))
    problems += _text_problems(values)
    problems += _date_problems(values, today or date.today())
    linked = values
    if unchanged_opportunity is not None and values.opportunity_id == unchanged_opportunity:
        linked = replace(values, opportunity_id=None)
    problems += _link_problems(trainee, linked)
    try:
        clcf_framework.checked_elements(values.element_keys)
    except DomainError as error:
        problems.append(error)
    return problems


def _apply(activity: Activity, trainee: User, values: ActivityValues) -> None:
    assert values.started_on is not None and values.kind and values.category
    activity.kind, activity.category = values.kind, values.category
    activity.title = (values.title or "").strip()
    activity.description = (values.description or "").strip()
    activity.started_on, activity.ended_on = values.started_on, values.ended_on
    activity.hours = values.hours
    activity.went_well = (values.went_well or "").strip()
    activity.do_differently = (values.do_differently or "").strip()
    activity.opportunity_id, activity.goal_id = values.opportunity_id, values.goal_id
    placement = (db.session.get(Placement, values.placement_id) if values.placement_id
                 else placement_on(trainee, values.started_on))
    activity.placement_id = placement.id if placement else None
    wanted = {e.key: e for e in clcf_framework.checked_elements(values.element_keys)}
    activity.elements[:] = [e for e in activity.elements if e.element_key in wanted]
    have = {e.element_key for e in activity.elements}
    activity.elements.extend(ActivityElement(element_key=key, domain_key=element.domain_key)
                             for key, element in wanted.items() if key not in have)


def add_activity(trainee: User, values: ActivityValues, *, today: date | None = None) -> Activity:
    if trainee.role != "trainee":
        raise DomainError("Only trainees keep an activity log")
    DomainErrors.raise_any(activity_problems(trainee, values, today=today))
    activity = Activity(trainee_id=trainee.id)
    _apply(activity, trainee, values)
    db.session.add(activity)
    db.session.flush()
    return activity


def update_activity(activity: Activity, trainee: User, values: ActivityValues, *,
                    today: date | None = None) -> Activity:
    if activity.trainee_id != trainee.id:
        raise DomainError("Only the trainee who logged an activity can change it")
    DomainErrors.raise_any(activity_problems(trainee, values, today=today,
                                             unchanged_opportunity=activity.opportunity_id))
    _apply(activity, trainee, values)
    db.session.flush()
    return activity


def delete_activity(activity: Activity, trainee: User) -> None:
    if activity.trainee_id != trainee.id:
        raise DomainError("Only the trainee who logged an activity can delete it")
    db.session.delete(activity)
    db.session.flush()


def prefill_from(opportunity: LeadershipOpportunity) -> dict[str, object]:
    """A new activity's starting values from a catalogue entry: its title, kind and elements."""
    return {"kind": "doing", "category": opportunity.kind, "title": opportunity.title,
            "elements": [e.element_key for e in opportunity.elements],
            "opportunity_id": opportunity.id}


def activity_filter(trainee_id: int, *, kind: str | None = None,
                    domain_key: str | None = None) -> ColumnElement[bool]:
    clause = Activity.trainee_id == trainee_id
    if kind:
        clause &= Activity.kind == kind
    if domain_key:
        clause &= Activity.id.in_(db.select(ActivityElement.activity_id)
                                  .where(ActivityElement.domain_key == domain_key))
    return clause


def activities_of(trainee_id: int, *, kind: str | None = None,
                  domain_key: str | None = None) -> list[Activity]:
    """The trainee's activities, latest first, optionally of one kind or CLCF domain."""
    return list(db.session.scalars(
        db.select(Activity).where(activity_filter(trainee_id, kind=kind, domain_key=domain_key))
        .order_by(Activity.started_on.desc(), Activity.id.desc())))


@dataclass(frozen=True)
class Balance:
    """Doing and learning side by side: how many of each and the hours logged for each."""

    counts: dict[str, int]
    hours: dict[str, float]


def balance(trainee_id: int) -> Balance:
    rows = db.session.execute(
        db.select(Activity.kind, func.count(), func.coalesce(func.sum(Activity.hours), 0))
        .where(Activity.trainee_id == trainee_id).group_by(Activity.kind)).all()
    counts = dict.fromkeys(ACTIVITY_KINDS, 0)
    hours = dict.fromkeys(ACTIVITY_KINDS, 0.0)
    for kind, count, total in rows:
        counts[kind], hours[kind] = count, float(total)
    return Balance(counts, hours)


def known_domain(key: str | None) -> str | None:
    """``key`` if it names a CLCF domain (a filter from the URL), else ``None``."""
    return key if key and key in clcf_framework.domain_titles() else None


def element_titles(keys: Iterable[str]) -> list[str]:
    known = clcf_framework.elements_by_key()
    return [known[k].title for k in keys if k in known]
