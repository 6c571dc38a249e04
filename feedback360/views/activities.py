"""The trainee's activity log: list (filtered by kind and CLCF domain), add, detail, change and
delete; and a coach's read-only view of their own trainees' activities.

An activity is reachable by the trainee who logged it and by their coach (read only); anyone
else gets a 404, as if it did not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..authz import role_required
from ..extensions import db
from ..forms.activities import ActivityForm, optional_id
from ..forms.cycles import ConfirmForm
from ..models import User
from ..models.portfolio import ACTIVITY_KINDS, Activity, LeadershipOpportunity
from ..services import DomainError, activities, clcf_framework, coaching
from ..services.activities import ActivityValues
from ..url_values import DATABASE_INT_MAX
from . import show_domain_error

bp = Blueprint("activities", __name__)


def _filters() -> tuple[str | None, str | None]:
    """``?kind=`` and ``?domain=``: unknown values are a 404, as for a page that does not exist."""
    kind = request.args.get("kind") or None
    domain = request.args.get("domain") or None
    if kind is not None and kind not in ACTIVITY_KINDS:
        abort(404)
    if domain is not None and activities.known_domain(domain) is None:
        abort(404)
    return kind, domain


def _list_context(trainee: User) -> dict[str, object]:
    kind, domain = _filters()
    return {"trainee": trainee, "kind": kind, "domain": domain,
            "activities": activities.activities_of(trainee.id, kind=kind, domain_key=domain),
            "balance": activities.balance(trainee.id),
            "domains": clcf_framework.domain_titles(),
            "kind_labels": activities.KIND_LABELS,
            "category_labels": activities.CATEGORY_LABELS}


@bp.route("/portfolio/activities")
@role_required("trainee")
def index():  # type: ignore[no-untyped-def]
    return render_template("activities/index.html", viewer="trainee",
                           **_list_context(current_user))


@bp.route("/coach/trainees/<int:user_id>/activities")
@role_required("coach")
def coach_index(user_id: int):  # type: ignore[no-untyped-def]
    trainee = db.session.get(User, user_id)
    if trainee is None or not coaching.is_coach_of(current_user, trainee.id):
        abort(404)
    return render_template("activities/index.html", viewer="coach", **_list_context(trainee))


def _readable(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None or not activities.may_read(current_user, activity):
        abort(404)
    return activity


def _own(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.trainee_id != current_user.id:
        abort(404)
    return activity


def _choices(form: ActivityForm, kind: str, activity: Activity | None) -> None:
    trainee = current_user
    form.category.choices = [("", "Select a kind")] + [
        (c, activities.CATEGORY_LABELS[c]) for c in activities.CATEGORIES_BY_KIND[kind]]
    opportunities = activities.open_opportunities()
    if activity and activity.opportunity and activity.opportunity not in opportunities:
        opportunities.append(activity.opportunity)  # a link kept after the entry closed
    form.opportunity_id.choices = [("", "None")] + [(str(o.id), o.title) for o in opportunities]
    form.goal_id.choices = [("", "None")] + [
        (str(g.id), g.action if len(g.action) <= 80 else g.action[:77] + "...")
        for g in activities.goals_of(trainee)]
    form.placement_id.choices = [("", "The placement I was in on the start date")] + [
        (str(p.id), f"{p.department}, {p.site.name}") for p in activities.placements_of(trainee)]


def _values(form: ActivityForm, kind: str) -> ActivityValues:
    return ActivityValues(
        kind=kind, category=form.category.data or None, title=form.title.data,
        description=form.description.data,
        started_on=form.started_on.data, ended_on=form.ended_on.data,
        hours=form.hours.hours, element_keys=tuple(form.elements.data or ()),
        went_well=form.went_well.data, do_differently=form.do_differently.data,
        # Education is not a catalogue opportunity: the page offers no link, so none is taken.
        opportunity_id=optional_id(form.opportunity_id) if kind == "doing" else None,
        goal_id=optional_id(form.goal_id),
        placement_id=optional_id(form.placement_id))


def _save(form: ActivityForm, kind: str, activity: Activity | None) -> Activity | None:
    """Check every field at once (the form's reading and the service's rules); save if all is
    well."""
    form.validate()  # the CSRF token, dates and hours that cannot be read
    values = _values(form, kind)
    for problem in activities.activity_problems(
            current_user, values,
            unchanged_opportunity=activity.opportunity_id if activity else None):
        if not (problem.field and getattr(form, problem.field).errors):
            show_domain_error(form, problem)
    if form.errors:
        return None
    try:
        if activity is None:
            activity = activities.add_activity(current_user, values)
        else:
            activities.update_activity(activity, current_user, values)
    except DomainError as error:
        show_domain_error(form, error)
        return None
    db.session.commit()
    return activity


def _render(form: ActivityForm, kind: str, activity: Activity | None):  # type: ignore[no-untyped-def]
    return render_template(
        "activities/form.html", form=form, kind=kind, activity=activity,
        element_groups=clcf_framework.element_choices(),
        kind_label=activities.KIND_LABELS[kind],
        text_max=activities.TEXT_MAX_LENGTH), 400 if form.errors else 200


def _opportunity_from_query() -> LeadershipOpportunity | None:
    raw = request.args.get("opportunity")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > DATABASE_INT_MAX:
        abort(404)
    opportunity = db.session.get(LeadershipOpportunity, int(raw))
    if opportunity is None or opportunity.status != "open":
        abort(404)
    return opportunity


@bp.route("/portfolio/activities/new", methods=["GET", "POST"])
@role_required("trainee")
def new_activity():  # type: ignore[no-untyped-def]
    kind = request.args.get("kind") or "doing"
    if kind not in ACTIVITY_KINDS:
        abort(404)
    opportunity = _opportunity_from_query()
    data: dict[str, object] = {}
    if opportunity is not None:
        kind = "doing"
        data = activities.prefill_from(opportunity)
        data["opportunity_id"] = str(opportunity.id)
    form = ActivityForm(data=data)
    _choices(form, kind, None)
    if form.is_submitted():
        saved = _save(form, kind, None)
        if saved is not None:
            flash(f"{activities.KIND_LABELS[kind]} added to your log", "success")
            return redirect(url_for(".detail", activity_id=saved.id))
    return _render(form, kind, None)


@bp.route("/portfolio/activities/<int:activity_id>")
@role_required("trainee", "coach")
def detail(activity_id: int):  # type: ignore[no-untyped-def]
    activity = _readable(activity_id)
    viewer = "trainee" if activity.trainee_id == current_user.id else "coach"
    return render_template("activities/detail.html", activity=activity, viewer=viewer,
                           elements=clcf_framework.elements_by_key(),
                           kind_labels=activities.KIND_LABELS,
                           category_labels=activities.CATEGORY_LABELS)


@bp.route("/portfolio/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@role_required("trainee")
def edit_activity(activity_id: int):  # type: ignore[no-untyped-def]
    activity = _own(activity_id)
    form = ActivityForm(data={
        "category": activity.category, "title": activity.title,
        "description": activity.description, "started_on": activity.started_on,
        "ended_on": activity.ended_on, "hours": activity.hours,
        "elements": [e.element_key for e in activity.elements],
        "opportunity_id": str(activity.opportunity_id or ""),
        "goal_id": str(activity.goal_id or ""), "placement_id": str(activity.placement_id or ""),
        "went_well": activity.went_well, "do_differently": activity.do_differently})
    _choices(form, activity.kind, activity)
    if form.is_submitted() and _save(form, activity.kind, activity) is not None:
        flash("Activity updated", "success")
        return redirect(url_for(".detail", activity_id=activity.id))
    return _render(form, activity.kind, activity)


@bp.route("/portfolio/activities/<int:activity_id>/delete", methods=["GET", "POST"])
@role_required("trainee")
def delete_activity(activity_id: int):  # type: ignore[no-untyped-def]
    activity = _own(activity_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = activity.title
        activities.delete_activity(activity, current_user)
        db.session.commit()
        flash(f"Deleted “{title}” from your log", "success")
        return redirect(url_for(".index"))
    return render_template("activities/delete.html", activity=activity, form=form), \
        400 if form.errors else 200
