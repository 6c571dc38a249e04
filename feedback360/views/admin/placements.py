"""A trainee's placements, seen and corrected by a programme lead from the person's page.

Affordances answers are not here: leads see them only in aggregate (the cohort report).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from ...extensions import db
from ...forms.workplace import PlacementForm
from ...models import Placement, User
from ...services import placements
from ..workplace import offer_sites, save_placement
from . import bp


def _trainee(user_id: int) -> User:
    person = db.get_or_404(User, user_id)
    if person.role != "trainee":
        abort(404)
    return person


@bp.get("/users/<int:user_id>/placements")
def trainee_placements(user_id: int):  # type: ignore[no-untyped-def]
    trainee = _trainee(user_id)
    return render_template("workplace/admin_placements.html", trainee=trainee,
                           placements=placements.placements_of(trainee))


def _form_page(trainee: User, placement: Placement | None):  # type: ignore[no-untyped-def]
    form = PlacementForm(obj=placement)
    offer_sites(form)
    back = url_for("admin.trainee_placements", user_id=trainee.id)
    if save_placement(trainee, placement, form) is not None:
        flash(f"Placement saved for {trainee.name}", "success")
        return redirect(back)
    return render_template("workplace/placement_form.html", form=form, placement=placement,
                           trainee=trainee, back_url=back), 400 if form.errors else 200


@bp.route("/users/<int:user_id>/placements/new", methods=["GET", "POST"])
def new_trainee_placement(user_id: int):  # type: ignore[no-untyped-def]
    return _form_page(_trainee(user_id), None)


@bp.route("/users/<int:user_id>/placements/<int:placement_id>/edit", methods=["GET", "POST"])
def edit_trainee_placement(user_id: int, placement_id: int):  # type: ignore[no-untyped-def]
    trainee = _trainee(user_id)
    placement = db.session.get(Placement, placement_id)
    if placement is None or placement.trainee_id != trainee.id:
        abort(404)
    return _form_page(trainee, placement)
