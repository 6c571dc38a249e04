"""The trainee's side of written feedback on an activity: ask a named observer, withdraw or send a
request again; and the feedback itself, shown to the trainee and their coach.

The activity's page includes ``templates/activities/_feedback_section.html``; the page here
shows the same section on its own (and is where the request form's Back and Cancel lead).
Anyone else's activity answers 404; roles other than trainee and coach get 403.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..authz import role_required
from ..extensions import db
from ..forms.written_feedback import ActionForm, ObserverRequestForm
from ..models import Activity, ActivityFeedbackRequest
from ..services import DomainError, clcf_framework
from ..services import written_feedback as service
from ..services.nominee_addresses import describe_allowed_domains
from . import validate_with_rules

bp = Blueprint("written_feedback", __name__, url_prefix="/activities")


def _activity(activity_id: int, *, manage: bool = False) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None or not service.may_view(current_user, activity):
        abort(404)
    if manage and not service.may_manage(current_user, activity):
        abort(403)
    return activity


def _request_of(activity: Activity, feedback_request_id: int) -> ActivityFeedbackRequest:
    found = next((r for r in activity.feedback_requests if r.id == feedback_request_id), None)
    if found is None:
        abort(404)
    return found


@bp.app_template_global()
def written_feedback_for(activity: Activity) -> dict[str, object]:
    """What ``activities/_feedback_section.html`` shows for ``activity``: any page with the
    activity in its context includes the section and it finds the rest itself."""
    return {"activity": activity, "requests": activity.feedback_requests,
            "answers": {r.id: service.answers_by_element(r) for r in activity.feedback_requests},
            "labels": service.STATUS_LABELS,
            "may_manage": service.may_manage(current_user, activity),
            "live": service.LIVE_STATUSES}


@bp.get("/<int:activity_id>/written-feedback")
@role_required("trainee", "coach")
def show(activity_id: int):  # type: ignore[no-untyped-def]
    activity = _activity(activity_id)
    return render_template("written_feedback/show.html", activity=activity)


@bp.route("/<int:activity_id>/written-feedback/new", methods=["GET", "POST"])
@role_required("trainee", "coach")
def new_request(activity_id: int):  # type: ignore[no-untyped-def]
    activity = _activity(activity_id, manage=True)
    form = ObserverRequestForm()
    if not form.is_submitted():
        form.elements.data = [element.element_key for element in activity.elements]

    checked: list[service.Observer] = []

    def check() -> None:
        checked.append(service.check_request(
            activity, name=form.name.data, email=form.email.data, role=form.role.data,
            element_keys=[k for k in (form.elements.data or []) if isinstance(k, str)],
            message=form.message.data))

    if validate_with_rules(form, check) and checked:
        service.request_feedback(activity, current_user, checked[0])
        db.session.commit()
        flash(f"Request sent to {checked[0].name}", "success")
        return redirect(url_for(".show", activity_id=activity.id))
    elements = clcf_framework.elements_by_key()
    choices = [elements[e.element_key] for e in activity.elements if e.element_key in elements]
    return render_template("written_feedback/request.html", activity=activity, form=form,
                           choices=choices, message_max=service.MESSAGE_MAX,
                           domains=describe_allowed_domains()), \
        400 if form.errors or form.form_errors else 200


def _act(activity_id: int, feedback_request_id: int, action, done: str):  # type: ignore[no-untyped-def]
    activity = _activity(activity_id, manage=True)
    feedback = _request_of(activity, feedback_request_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400, "The page had expired. Go back, reload the page and try again.")
    try:
        action(feedback, current_user)
    except DomainError as error:
        db.session.rollback()
        abort(409, error.message)
    db.session.commit()
    flash(done.format(name=feedback.observer_name), "success")
    return redirect(url_for(".show", activity_id=activity.id))


@bp.post("/<int:activity_id>/written-feedback/<int:feedback_request_id>/withdraw")
@role_required("trainee", "coach")
def withdraw(activity_id: int, feedback_request_id: int):  # type: ignore[no-untyped-def]
    return _act(activity_id, feedback_request_id, service.withdraw,
                "Request to {name} withdrawn: their link no longer works")


@bp.post("/<int:activity_id>/written-feedback/<int:feedback_request_id>/resend")
@role_required("trainee", "coach")
def resend(activity_id: int, feedback_request_id: int):  # type: ignore[no-untyped-def]
    return _act(activity_id, feedback_request_id, service.resend,
                "Request sent to {name} again, with a new link")
