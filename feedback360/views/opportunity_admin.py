"""The leadership opportunities catalogue for programme leads (admins, programme-scoped leads
too): list it with proposals awaiting review first, add and edit entries, open and close them,
approve or decline trainees' proposals, and see who registered interest (a page and a CSV).

The catalogue is the organisation's, not a programme's, so a lead limited to programmes keeps it
too; the people who registered interest are shown within their scope only (``lead_scope``).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit
from ..authz import role_required
from ..exports import CSV_MEDIA_TYPE, records_frame, to_csv
from ..extensions import db
from ..forms.opportunities import (
    ActionForm,
    DeclineForm,
    OpportunityForm,
    fields_of,
    form_data,
    prepare,
)
from ..models import OPPORTUNITY_STATUSES, LeadershipOpportunity
from ..services import DomainError, clcf_framework, lead_scope, opportunities, opportunity_seed
from ..url_values import page_number
from . import show_domain_error, validate_with_rules
from .opportunities import check_fields, form_limits

bp = Blueprint("opportunity_admin", __name__, url_prefix="/admin/opportunities")


@bp.before_request
@role_required("admin")
def require_lead() -> None:
    """Every route here is for programme leads."""


def _posted() -> None:
    if not ActionForm().validate_on_submit():
        abort(400, "The form had expired. Go back, reload the page and try again.")


def _to_entry(opportunity: LeadershipOpportunity):  # type: ignore[no-untyped-def]
    return redirect(url_for(".entry", opportunity_id=opportunity.id))


@bp.get("")
def catalogue():  # type: ignore[no-untyped-def]
    status = request.args.get("status")
    status = status if status in OPPORTUNITY_STATUSES else None
    page = db.paginate(opportunities.lead_query(status), page=page_number(),
                       per_page=opportunities.PER_PAGE, error_out=True)
    return render_template("opportunities/lead_list.html", page=page, status=status,
                           counts=opportunities.count_by_status(),
                           interest=opportunities.interest_counts([o.id for o in page.items]),
                           statuses=opportunities.STATUS_LABELS, kinds=opportunities.KIND_LABELS,
                           form=ActionForm())


@bp.post("/seed")
def seed_examples():  # type: ignore[no-untyped-def]
    _posted()
    added = opportunity_seed.seed(current_user)
    db.session.commit()
    flash(f"Added {len(added)} opportunities from the FMLM Leadership Commitment's examples"
          if added else "Every FMLM example is already in the catalogue", "success")
    return redirect(url_for(".catalogue"))


def _render_form(form: OpportunityForm, opportunity: LeadershipOpportunity | None):  # type: ignore[no-untyped-def]
    heading = "Change an opportunity" if opportunity else "Add an opportunity"
    return render_template("opportunities/form.html", form=form, heading=heading,
                           opportunity=opportunity, proposing=False,
                           **form_limits()), 400 if form.errors else 200


@bp.route("/new", methods=["GET", "POST"])
def new():  # type: ignore[no-untyped-def]
    form = prepare(OpportunityForm())
    if validate_with_rules(form, lambda: check_fields(form)):
        try:
            opportunity = opportunities.create(fields_of(form), by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Opportunity added and open to trainees", "success")
            return _to_entry(opportunity)
    return _render_form(form, None)


@bp.get("/<int:opportunity_id>")
def entry(opportunity_id: int):  # type: ignore[no-untyped-def]
    opportunity = db.get_or_404(LeadershipOpportunity, opportunity_id)
    return render_template(
        "opportunities/lead_entry.html", opportunity=opportunity, form=ActionForm(),
        interested=opportunities.interested(opportunity, lead_scope.user_filter(current_user)),
        elements=clcf_framework.elements_by_key(), kinds=opportunities.KIND_LABELS,
        statuses=opportunities.STATUS_LABELS)


@bp.route("/<int:opportunity_id>/edit", methods=["GET", "POST"])
def edit(opportunity_id: int):  # type: ignore[no-untyped-def]
    opportunity = db.get_or_404(LeadershipOpportunity, opportunity_id)
    form = prepare(OpportunityForm(data=form_data(opportunity)))
    if validate_with_rules(form, lambda: check_fields(form)):
        try:
            changed = opportunities.update(opportunity, fields_of(form), by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Opportunity saved" if changed else "Nothing was changed", "success")
            return _to_entry(opportunity)
    return _render_form(form, opportunity)


def _act(opportunity_id: int, action, done: str):  # type: ignore[no-untyped-def]
    opportunity = db.get_or_404(LeadershipOpportunity, opportunity_id)
    _posted()
    try:
        action(opportunity)
    except DomainError as error:
        abort(409, error.message)
    db.session.commit()
    flash(done, "success")
    return _to_entry(opportunity)


@bp.post("/<int:opportunity_id>/open")
def open_entry(opportunity_id: int):  # type: ignore[no-untyped-def]
    return _act(opportunity_id, lambda o: opportunities.set_open(o, True, by=current_user),
                "Opportunity open: trainees can see it and register interest")


@bp.post("/<int:opportunity_id>/close")
def close_entry(opportunity_id: int):  # type: ignore[no-untyped-def]
    return _act(opportunity_id, lambda o: opportunities.set_open(o, False, by=current_user),
                "Opportunity closed: trainees no longer see it")


@bp.post("/<int:opportunity_id>/approve")
def approve(opportunity_id: int):  # type: ignore[no-untyped-def]
    return _act(opportunity_id, lambda o: opportunities.approve(o, by=current_user),
                "Proposal approved and open to trainees; the proposer has been emailed")


@bp.route("/<int:opportunity_id>/decline", methods=["GET", "POST"])
def decline(opportunity_id: int):  # type: ignore[no-untyped-def]
    opportunity = db.get_or_404(LeadershipOpportunity, opportunity_id)
    if opportunity.status != "proposed":
        abort(409, "This proposal has already been reviewed.")
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            opportunities.decline(opportunity, form.reason.data, by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Proposal declined; the proposer has been emailed the reason", "success")
            return _to_entry(opportunity)
    return render_template("opportunities/decline.html", form=form, opportunity=opportunity,
                           reason_max=opportunities.REASON_MAX_LENGTH), \
        400 if form.errors else 200


@bp.get("/<int:opportunity_id>/interest.csv")
def interest_csv(opportunity_id: int):  # type: ignore[no-untyped-def]
    opportunity = db.get_or_404(LeadershipOpportunity, opportunity_id)
    people = opportunities.interested(opportunity, lead_scope.user_filter(current_user))
    body = to_csv(records_frame(opportunities.interest_rows(people),
                                opportunities.INTEREST_COLUMNS))
    # names and email addresses leave the service: the trail says who took them
    audit.record(current_user, "opportunity.interest_downloaded",
                 f"opportunity:{opportunity.id}", people=len(people))
    db.session.commit()
    return Response(body, content_type=CSV_MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="opportunity-{opportunity.id}-interest.csv"'})
