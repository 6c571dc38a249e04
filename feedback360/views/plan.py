"""The development plan: goals the trainee and their coach add and edit once the report is released.

Reachable by the owning trainee and by coaches assigned to them; anyone else's cycle answers 404,
and admins are refused (403). Before release the plan cannot be changed (409).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import RadioField, SelectChoice, SelectField, TextAreaField

from ..authz import role_required
from ..extensions import db
from ..forms.cycles import DateInputField
from ..instruments import Instrument
from ..models import GOAL_STATUSES, DevelopmentGoal, FeedbackCycle
from ..services import DomainError, plans
from ..services.instrument_cache import instrument_for
from ..text_input import Form
from . import show_domain_error
from .coach import register_coach_helpers

bp = Blueprint("plan", __name__, url_prefix="/cycles")
bp.record_once(lambda state: register_coach_helpers(state.app))

FOCUS_SEPARATOR = "/"


class GoalForm(Form):
    # Every rule (required, lengths, dates in range, known domain) is the service's, so each has
    # one wording; the fields only carry what was typed.
    focus = SelectField("Domain or element", validate_choice=False)
    action = TextAreaField("What will you do?")
    support = TextAreaField("Support or opportunity (optional)")
    due_on = DateInputField("Due date")
    status = RadioField("Status", validate_choice=False, choices=[
        SelectChoice(s, plans.STATUS_LABELS[s]) for s in GOAL_STATUSES])


def focus_value(domain_key: str, element_key: str | None) -> str:
    return f"{domain_key}{FOCUS_SEPARATOR}{element_key}" if element_key else domain_key


def focus_groups(instrument: Instrument) -> list[tuple[str, list[tuple[str, str]]]]:
    """The select's optgroups: per domain, the whole domain and then each of its elements."""
    return [(domain.title,
             [(domain.key, f"{domain.title} (the whole domain)"),
              *[(focus_value(domain.key, e.key), e.title) for e in domain.elements]])
            for domain in instrument.domains]


def _plannable_cycle(cycle_id: int) -> FeedbackCycle:
    cycle = db.get_or_404(FeedbackCycle, cycle_id)
    if not plans.may_plan(current_user, cycle):
        abort(404)
    if cycle.status != "released":
        abort(409, "Goals can be agreed once the coach has released the report.")
    return cycle


def _save(form: GoalForm, cycle: FeedbackCycle, goal: DevelopmentGoal | None) -> bool:
    """Check every field at once (the service's rules) and save if all is well."""
    form.validate()  # the CSRF token, and a due date that is not a real date
    domain_key, _, element_key = (form.focus.data or "").partition(FOCUS_SEPARATOR)
    values = {"domain_key": domain_key or None, "element_key": element_key or None,
              "action": form.action.data, "support": form.support.data,
              "due_on": form.due_on.data, "status": form.status.data}
    for problem in plans.goal_problems(cycle, **values, check_due=not form.due_on.errors,
                                       unchanged_from=goal.due_on if goal else None):
        show_domain_error(form, problem)
    if form.errors:
        return False
    try:
        if goal is None:
            plans.add_goal(cycle, current_user, **values)
        else:
            plans.update_goal(goal, current_user, **values)
    except DomainError as error:
        show_domain_error(form, error)
        return False
    db.session.commit()
    return True


def _render(form: GoalForm, cycle: FeedbackCycle, goal: DevelopmentGoal | None):  # type: ignore[no-untyped-def]
    instrument = instrument_for(cycle)
    return render_template("plan/goal_form.html", form=form, cycle=cycle, goal=goal,
                           groups=focus_groups(instrument), instrument=instrument,
                           action_max=plans.ACTION_MAX_LENGTH,
                           support_max=plans.SUPPORT_MAX_LENGTH), 400 if form.errors else 200


def _to_plan(cycle: FeedbackCycle):  # type: ignore[no-untyped-def]
    return redirect(url_for("reports.dashboard", cycle_id=cycle.id, _anchor="development-plan"))


@bp.route("/<int:cycle_id>/goals/new", methods=["GET", "POST"])
@role_required("trainee", "coach")
def new_goal(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = _plannable_cycle(cycle_id)
    form = GoalForm(data={"status": "not_started"})
    if form.is_submitted() and _save(form, cycle, None):
        flash("Goal added to the development plan", "success")
        return _to_plan(cycle)
    return _render(form, cycle, None)


@bp.route("/<int:cycle_id>/goals/<int:goal_id>/edit", methods=["GET", "POST"])
@role_required("trainee", "coach")
def edit_goal(cycle_id: int, goal_id: int):  # type: ignore[no-untyped-def]
    cycle = _plannable_cycle(cycle_id)
    goal = db.session.get(DevelopmentGoal, goal_id)
    if goal is None or goal.cycle_id != cycle.id:
        abort(404)
    form = GoalForm(data={"focus": focus_value(goal.domain_key, goal.element_key),
                          "action": goal.action, "support": goal.support, "due_on": goal.due_on,
                          "status": goal.status})
    if form.is_submitted() and _save(form, cycle, goal):
        flash("Goal updated", "success")
        return _to_plan(cycle)
    return _render(form, cycle, goal)
