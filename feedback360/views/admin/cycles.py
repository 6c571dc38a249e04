"""A trainee's closed cycles and the attributes each closed with; correcting those (audited).

Cohort reports group a closed cycle by the specialty, training year and site it closed with, so
correcting the user's profile moves no published figure; a correction to a past cycle is this
explicit action, which rebuilds the affected cohort reports' analyses.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ...extensions import db
from ...forms import CycleAttributesForm
from ...models import FeedbackCycle, User
from ...services import DomainError, cohort_analyses, cycle_attributes
from .. import show_domain_error
from . import bp


@bp.get("/trainees/<int:user_id>/cycles")
def trainee_cycles(user_id: int):  # type: ignore[no-untyped-def]
    trainee = db.get_or_404(User, user_id)
    if trainee.role != "trainee":
        abort(404)
    return render_template("admin/trainee_cycles.html", trainee=trainee,
                           cycles=cycle_attributes.closed_cycles(trainee))


@bp.route("/cycles/<int:cycle_id>/attributes", methods=["GET", "POST"])
def cycle_attributes_at_close(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = db.get_or_404(FeedbackCycle, cycle_id)
    if cycle.status not in cycle_attributes.CLOSED:
        abort(404)
    # posted values win over these (WTForms), so a blanked field stays blank
    form = CycleAttributesForm(data=cycle_attributes.at_close(cycle).as_dict())
    if form.validate_on_submit():
        corrected = cycle_attributes.AttributesAtClose(
            form.specialty.data, form.training_year.data, form.site.data)
        try:
            affected = cycle_attributes.correct(cycle, corrected, reason=form.reason.data,
                                                by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            # after the commit: the analyses are stored in their own transaction
            cohort_analyses.refresh(affected)
            flash("Attributes at close corrected; the cohort reports they count in are "
                  "rebuilt", "success")
            return redirect(url_for("admin.trainee_cycles", user_id=cycle.trainee_id))
    return render_template("admin/cycle_attributes.html", cycle=cycle, form=form,
                           recorded=cycle_attributes.at_close(cycle)), \
        400 if form.errors else 200

