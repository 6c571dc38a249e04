"""Coach assignments: one trainee at a time, or many trainees of a cohort at once."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ...extensions import db
from ...forms import AssignCoachForm, BulkAssignCoachForm
from ...models import CoachAssignment, Cohort, User
from ...services import DomainError, coaching, cohorts
from .. import show_domain_error
from . import bp


def _coach_choices(form: AssignCoachForm) -> None:
    form.coach_id.choices = [SelectChoice(0, "Select a coach"),
                             *[SelectChoice(c.id, c.name) for c in coaching.coaches()]]


def _names(users: list[User]) -> str:
    return ", ".join(user.name for user in users)


@bp.route("/trainees/<int:user_id>/coaches", methods=["GET", "POST"])
def trainee_coaches(user_id: int):  # type: ignore[no-untyped-def]
    trainee = db.get_or_404(User, user_id)
    if trainee.role != "trainee":
        abort(404)
    form = AssignCoachForm()
    _coach_choices(form)
    if form.validate_on_submit():
        coach = db.session.get(User, form.coach_id.data)
        assert coach is not None  # validate_choice: one of the coaches offered
        try:
            coaching.assign(coach, trainee, by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"{coach.name} is now {trainee.name}'s coach", "success")
            return redirect(url_for("admin.trainee_coaches", user_id=trainee.id))
    return render_template("admin/trainee_coaches.html", trainee=trainee, form=form,
                           assignments=coaching.assignments_of(trainee)), \
        400 if form.errors else 200


@bp.post("/coach-assignments/<int:assignment_id>/remove")
def remove_assignment(assignment_id: int):  # type: ignore[no-untyped-def]
    assignment = db.get_or_404(CoachAssignment, assignment_id)
    coach, trainee = assignment.coach, assignment.trainee
    coaching.remove(assignment, by=current_user)
    db.session.commit()
    flash(f"{coach.name} is no longer {trainee.name}'s coach", "success")
    return redirect(url_for("admin.trainee_coaches", user_id=trainee.id))


@bp.post("/cohorts/<int:cohort_id>/coaches")
def assign_cohort_coach(cohort_id: int):  # type: ignore[no-untyped-def]
    cohort = db.get_or_404(Cohort, cohort_id)
    trainees = cohorts.trainees_of(cohort)
    form = BulkAssignCoachForm()
    _coach_choices(form)
    if form.validate_on_submit():
        coach = db.session.get(User, form.coach_id.data)
        assert coach is not None
        wanted = set(form.trainee_ids.data)
        chosen = [t for t in trainees if t.id in wanted]
        try:
            if len(chosen) != len(wanted):
                raise DomainError(f"Select only trainees of {cohort.name}", field="trainee_ids")
            result = coaching.assign_many(coach, chosen, by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            if result.assigned:
                flash(f"{coach.name} is now the coach of {_names(result.assigned)}", "success")
            if result.already_assigned:
                flash(f"Skipped, already coached by {coach.name}: "
                      f"{_names(result.already_assigned)}", "info")
            return redirect(url_for("admin.cohort", cohort_id=cohort.id))
    return render_template("admin/cohort.html", cohort=cohort, trainees=trainees, form=form,
                           coaches=coaching.coaches_by_trainee(t.id for t in trainees)), 400
