"""The coach's approval of a trainee's nominee list, where the programme asks for it.

Coaches only, and only for their assigned trainees: any other cycle answers 404, as if it did
not exist. The rules (what may be approved, when) are ``services.nominee_approval``'s.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..authz import role_required
from ..extensions import db
from ..forms.cycles import ConfirmForm, ReturnNomineesForm
from ..models import FeedbackCycle
from ..services import DomainError, coaching, cycles, nominee_approval
from ..services.instrument_cache import instrument_for
from . import show_domain_error

bp = Blueprint("nominee_review", __name__, url_prefix="/coach")


def _assigned_cycle(cycle_id: int) -> FeedbackCycle:
    # Locked (PostgreSQL): a double-clicked approval must not email held colleagues twice.
    cycle = db.get_or_404(FeedbackCycle, cycle_id, with_for_update=True)
    if not coaching.is_coach_of(current_user, cycle.trainee_id):
        abort(404)
    return cycle


def _page(cycle: FeedbackCycle, return_form: ReturnNomineesForm | None = None,
          status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        "coach/nominees.html", cycle=cycle, instrument=instrument_for(cycle),
        nominees=sorted(cycles.active_invitations(cycle),
                        key=lambda i: (i.rater_name.casefold(), i.rater_email)),
        approval=nominee_approval.state(cycle), approve_form=ConfirmForm(formdata=None),
        return_form=return_form or ReturnNomineesForm(formdata=None),
        reason_max=nominee_approval.REASON_MAX_LENGTH), status


@bp.get("/cycles/<int:cycle_id>/nominees")
@role_required("coach")
def nominees(cycle_id: int):  # type: ignore[no-untyped-def]
    return _page(_assigned_cycle(cycle_id))


@bp.post("/cycles/<int:cycle_id>/nominees/approve")
@role_required("coach")
def approve(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = _assigned_cycle(cycle_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        nominee_approval.approve(cycle, current_user)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("nominee_review.nominees", cycle_id=cycle.id))
    db.session.commit()
    # No number: it would tell whether a colleague added back had already answered.
    emailed = " We are emailing any colleagues added since launch." \
        if cycle.status == "open" else ""
    flash(f"You approved {cycle.trainee.name}'s colleagues.{emailed}", "success")
    return redirect(url_for("coach.trainees"))


@bp.post("/cycles/<int:cycle_id>/nominees/return")
@role_required("coach")
def return_list(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = _assigned_cycle(cycle_id)
    form = ReturnNomineesForm()
    if form.validate_on_submit():
        try:
            nominee_approval.return_list(cycle, current_user, form.reason.data)
        except DomainError as error:
            if error.field is None:
                flash(error.message, "error")
                return redirect(url_for("nominee_review.nominees", cycle_id=cycle.id))
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"List returned to {cycle.trainee.name} with your reason", "success")
            return redirect(url_for("coach.trainees"))
    return _page(cycle, form, status=400)
