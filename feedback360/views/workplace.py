"""The trainee's placements and the workplace affordances questionnaire; a coach's view of the
answers their trainees share with them; re-inviting the previous placement's colleagues.

One trainee's answers are read only through ``affordances.may_read``: by the trainee, and by
their assigned coach while the trainee shares them. Any other reader gets a 404, as if there
were nothing (a 403 would say there is).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..authz import role_required
from ..error_pages import render_error
from ..extensions import db
from ..forms.cycles import ConfirmForm
from ..forms.workplace import (
    AffordancesForm,
    PlacementForm,
    ReinviteForm,
    SharingForm,
    record_id,
)
from ..instruments import InstrumentError
from ..models import AffordanceResponse, FeedbackCycle, Placement, User
from ..services import DomainError, DomainErrors, affordances, organisations, placements, reinvite
from ..services.coaching import is_coach_of
from ..services.cycles import today
from . import show_domain_error, validate_with_rules

bp = Blueprint("workplace", __name__, url_prefix="/portfolio")


# --- placements (shared with the lead's pages in views/admin/placements.py) -------------------

def offer_sites(form: PlacementForm) -> None:
    form.site_id.choices = [SelectChoice("", "Select a site"), *[
        SelectChoice(site.id, f"{site.name} ({site.organisation.name})")
        for site in organisations.all_sites()]]


def details_of(form: PlacementForm) -> placements.PlacementDetails:
    return placements.PlacementDetails(
        site_id=form.site_id.data, department=form.department.data,
        specialty=form.specialty.data, supervisor_name=form.supervisor_name.data,
        supervisor_email=form.supervisor_email.data, started_on=form.started_on.data,
        ended_on=form.ended_on.data)


def save_placement(trainee: User, placement: Placement | None, form: PlacementForm
                   ) -> Placement | None:
    """Validate and save (committed); the placement, or None when the form has errors."""
    if not validate_with_rules(form, lambda: placements.check(trainee, details_of(form),
                                                               keep=placement)):
        return None
    try:
        if placement is None:
            placement = placements.add_placement(trainee, details_of(form), by=current_user)
        else:
            placements.update_placement(placement, details_of(form), by=current_user)
    except DomainError as error:
        db.session.rollback()
        show_domain_error(form, error)
        return None
    db.session.commit()
    return placement


def _own_placement(placement_id: int) -> Placement:
    placement = db.session.get(Placement, placement_id)
    if placement is None or placement.trainee_id != current_user.id:
        abort(404)
    return placement


@bp.get("/placements")
@role_required("trainee")
def placements_page():  # type: ignore[no-untyped-def]
    return render_template(
        "workplace/placements.html", placements=placements.placements_of(current_user),
        responses=affordances.responses_of(current_user),
        unanswered=affordances.unanswered_placement(current_user, today()),
        sharing_form=SharingForm(formdata=None))


@bp.route("/placements/new", methods=["GET", "POST"])
@role_required("trainee")
def new_placement():  # type: ignore[no-untyped-def]
    form = PlacementForm()
    offer_sites(form)
    placement = save_placement(current_user, None, form)
    if placement is not None:
        flash(f"Placement in {placement.department} added", "success")
        return redirect(url_for(".placements_page"))
    return render_template("workplace/placement_form.html", form=form, placement=None,
                           trainee=current_user,
                           back_url=url_for(".placements_page")), 400 if form.errors else 200


@bp.route("/placements/<int:placement_id>/edit", methods=["GET", "POST"])
@role_required("trainee")
def edit_placement(placement_id: int):  # type: ignore[no-untyped-def]
    placement = _own_placement(placement_id)
    form = PlacementForm(obj=placement)
    offer_sites(form)
    if save_placement(current_user, placement, form) is not None:
        flash(f"Placement in {placement.department} saved", "success")
        return redirect(url_for(".placements_page"))
    return render_template("workplace/placement_form.html", form=form, placement=placement,
                           trainee=current_user,
                           back_url=url_for(".placements_page")), 400 if form.errors else 200


@bp.route("/placements/<int:placement_id>/delete", methods=["GET", "POST"])
@role_required("trainee")
def delete_placement(placement_id: int):  # type: ignore[no-untyped-def]
    placement = _own_placement(placement_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            placements.delete_placement(placement, by=current_user)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for(".placements_page"))
        db.session.commit()
        flash("Placement deleted", "success")
        return redirect(url_for(".placements_page"))
    return render_template("workplace/confirm.html", form=form,
                           heading="Delete this placement?",
                           detail=placements.describe(placement), action="Delete the placement",
                           back_url=url_for(".placements_page")), 400 if form.errors else 200


# --- answering the affordances questionnaire -------------------------------------------------

def _answer_page(form: AffordancesForm, *, cycle: FeedbackCycle | None):  # type: ignore[no-untyped-def]
    own = placements.placements_of(current_user)
    form.placement_id.choices = [SelectChoice(p.id, placements.describe(p)) for p in own]
    questionnaire = affordances.questionnaire()
    item_errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            placement = next((p for p in own if p.id == form.placement_id.data), None)
            if placement is None:
                raise DomainError("Select one of your placements", field="placement_id")
            response = affordances.submit(
                current_user, placement, request.form, comment=form.comment.data,
                share=form.share.data, cycle=cycle)
        except DomainError as error:
            db.session.rollback()
            for one in error.errors if isinstance(error, DomainErrors) else [error]:
                if one.field in questionnaire.item_keys:
                    item_errors[one.field] = one.message
                else:
                    show_domain_error(form, one)
        else:
            db.session.commit()
            flash("Thank you. Your answers about this placement are saved.", "success")
            if cycle is not None:
                return redirect(url_for("trainee.cycle", cycle_id=cycle.id))
            return redirect(url_for(".response", response_id=response.id))
    chosen = {key: request.form.get(key) for key in questionnaire.item_keys} \
        if form.is_submitted() else {}
    back = url_for("trainee.cycle", cycle_id=cycle.id) if cycle else url_for(".placements_page")
    return render_template("workplace/answer.html", form=form, questionnaire=questionnaire,
                           cycle=cycle, chosen=chosen, item_errors=item_errors,
                           placements=own, back_url=back), \
        400 if form.errors or item_errors else 200


def _default_placement(form: AffordancesForm, wanted: int | None) -> None:
    if not form.is_submitted():
        current = placements.placement_on(current_user.id, today())
        form.placement_id.data = wanted or (current.id if current else None)


def _wanted_placement() -> int | None:
    return record_id(request.args.get("placement"))


@bp.route("/affordances/new", methods=["GET", "POST"])
@role_required("trainee")
def answer():  # type: ignore[no-untyped-def]
    """After a placement change: answered outside any cycle."""
    form = AffordancesForm()
    _default_placement(form, _wanted_placement())
    return _answer_page(form, cycle=None)


@bp.route("/cycles/<int:cycle_id>/affordances", methods=["GET", "POST"])
@role_required("trainee")
def answer_in_cycle(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = db.session.get(FeedbackCycle, cycle_id)
    if cycle is None or cycle.trainee_id != current_user.id:
        abort(404)
    if not affordances.may_answer_in(cycle):
        flash("The placement questions for this cycle are already answered"
              if cycle.status in affordances.ANSWERABLE_CYCLE else
              "This feedback cycle has closed", "info")
        return redirect(url_for("trainee.cycle", cycle_id=cycle.id))
    form = AffordancesForm()
    _default_placement(form, None)
    return _answer_page(form, cycle=cycle)


@bp.errorhandler(InstrumentError)
def questionnaire_broken(error: InstrumentError):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return render_error(503, "The placement questions cannot be shown just now. Please try "
                             "again later.")


# --- reading answers: the trainee, or their coach when shared ---------------------------------

def _readable(response_id: int) -> AffordanceResponse:
    response = db.session.get(AffordanceResponse, response_id)
    if response is None or not affordances.may_read(current_user, response):
        abort(404)
    return response


@bp.get("/affordances/<int:response_id>")
@role_required("trainee", "coach")
def response(response_id: int):  # type: ignore[no-untyped-def]
    answers = _readable(response_id)
    form = SharingForm(formdata=None, data={"share": answers.shared_with_coach})
    return render_template("workplace/response.html", response=answers,
                           questionnaire=affordances.questionnaire_of(answers),
                           scores={a.item_key: a.score for a in answers.answers},
                           sharing_form=form, own=answers.trainee_id == current_user.id)


@bp.post("/affordances/<int:response_id>/sharing")
@role_required("trainee")
def sharing(response_id: int):  # type: ignore[no-untyped-def]
    answers = _readable(response_id)
    if answers.trainee_id != current_user.id:
        abort(404)
    form = SharingForm()
    if not form.validate_on_submit():
        abort(400)
    if affordances.set_sharing(answers, form.share.data, by=current_user):
        db.session.commit()
        flash("Your coach can now see these answers" if form.share.data else
              "These answers are no longer shared with your coach", "success")
    return redirect(url_for(".response", response_id=answers.id))


@bp.get("/trainees/<int:user_id>/affordances")
@role_required("coach")
def shared_with_me(user_id: int):  # type: ignore[no-untyped-def]
    trainee = db.session.get(User, user_id)
    if trainee is None or trainee.role != "trainee":
        abort(404)
    if not is_coach_of(current_user, trainee.id):
        abort(404)
    return render_template("workplace/shared.html", trainee=trainee,
                           responses=affordances.shared_with(current_user, trainee))


# --- re-inviting the previous placement's colleagues -----------------------------------------

@bp.route("/cycles/<int:cycle_id>/reinvite", methods=["GET", "POST"])
@role_required("trainee")
def reinvite_colleagues(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = db.session.get(FeedbackCycle, cycle_id)
    if cycle is None or cycle.trainee_id != current_user.id:
        abort(404)
    offer = reinvite.offer(cycle)
    if offer is None:
        flash("There are no colleagues from your previous placement to ask again", "info")
        return redirect(url_for("trainee.cycle", cycle_id=cycle.id, _anchor="nominees"))
    form = ReinviteForm()
    refused: list[tuple[reinvite.Candidate, str]] = []
    if form.validate_on_submit():
        try:
            outcome = reinvite.reinvite(cycle, [i for i in form.invitations.data or [] if i])
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            if outcome.added:
                count = len(outcome.added)
                flash(f"{count} {'colleague' if count == 1 else 'colleagues'} from your "
                      "previous placement added", "success")
            if not outcome.refused:
                return redirect(url_for("trainee.cycle", cycle_id=cycle.id, _anchor="nominees"))
            refused = outcome.refused
            offer = reinvite.offer(cycle) or offer
    return render_template("workplace/reinvite.html", form=form, cycle=cycle, offer=offer,
                           refused=refused, describe=placements.describe), \
        400 if form.errors or refused else 200
