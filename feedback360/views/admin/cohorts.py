"""Cohorts: the list, creating and editing one, archiving, and a cohort's trainees."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ...extensions import db
from ...forms import BulkAssignCoachForm, CohortForm
from ...forms.cycles import ConfirmForm
from ...models import Cohort
from ...services import DomainError, coaching, cohorts
from .. import show_domain_error
from . import bp


@bp.get("/cohorts", endpoint="cohorts")
def cohorts_list():  # type: ignore[no-untyped-def]
    return render_template("admin/cohorts.html",
                           active=cohorts.listings(archived=False, visible_to=current_user),
                           archived=cohorts.listings(archived=True, visible_to=current_user))


@bp.route("/cohorts/new", methods=["GET", "POST"])
def new_cohort():  # type: ignore[no-untyped-def]
    form = CohortForm()
    if form.validate_on_submit():
        try:
            cohort = cohorts.create_cohort(
                name=form.name.data, programme=form.programme.data,
                intake_year=form.intake_year.data, by=current_user,
                nominee_approval_required=form.nominee_approval_required.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"Cohort {cohort.name} created", "success")
            return redirect(url_for("admin.cohort", cohort_id=cohort.id))
    return render_template("admin/cohort_form.html", form=form, cohort=None), \
        400 if form.errors else 200


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
def edit_cohort(cohort_id: int):  # type: ignore[no-untyped-def]
    cohort = db.get_or_404(Cohort, cohort_id)
    form = CohortForm(obj=cohort)
    if form.validate_on_submit():
        try:
            cohorts.update_cohort(cohort, name=form.name.data, programme=form.programme.data,
                                  intake_year=form.intake_year.data, by=current_user,
                                  nominee_approval_required=form.nominee_approval_required.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"Cohort {cohort.name} saved", "success")
            return redirect(url_for("admin.cohort", cohort_id=cohort.id))
    return render_template("admin/cohort_form.html", form=form, cohort=cohort), \
        400 if form.errors else 200


@bp.get("/cohorts/<int:cohort_id>")
def cohort(cohort_id: int):  # type: ignore[no-untyped-def]
    cohort = db.get_or_404(Cohort, cohort_id)
    trainees = cohorts.trainees_of(cohort)
    form = BulkAssignCoachForm()
    form.coach_id.choices = [SelectChoice(0, "Select a coach"),
                             *[SelectChoice(c.id, c.name) for c in coaching.coaches()]]
    return render_template("admin/cohort.html", cohort=cohort, trainees=trainees, form=form,
                           coaches=coaching.coaches_by_trainee(t.id for t in trainees))


def _set_archived(cohort_id: int, archived: bool):  # type: ignore[no-untyped-def]
    cohort = db.get_or_404(Cohort, cohort_id)
    form = ConfirmForm()
    if cohort.archived == archived:
        flash(f"{cohort.name} is {'already' if archived else 'not'} archived", "info")
        return redirect(url_for("admin.cohort", cohort_id=cohort.id))
    if form.validate_on_submit():
        change = cohorts.archive_cohort if archived else cohorts.unarchive_cohort
        change(cohort, by=current_user)
        db.session.commit()
        flash(f"Cohort {cohort.name} {'archived' if archived else 'restored'}", "success")
        return redirect(url_for("admin.cohorts"))
    return render_template("admin/cohort_archive.html", cohort=cohort, form=form,
                           archiving=archived, trainees=len(cohorts.trainees_of(cohort))), \
        400 if form.errors else 200


@bp.route("/cohorts/<int:cohort_id>/archive", methods=["GET", "POST"])
def archive_cohort(cohort_id: int):  # type: ignore[no-untyped-def]
    return _set_archived(cohort_id, True)


@bp.route("/cohorts/<int:cohort_id>/unarchive", methods=["GET", "POST"])
def unarchive_cohort(cohort_id: int):  # type: ignore[no-untyped-def]
    return _set_archived(cohort_id, False)
