"""People and their accounts: the list, invitations, and resending an activation email."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ...extensions import db
from ...forms import InviteUserForm
from ...models import ROLES, Cohort, User
from ...services import DomainError, accounts, cohorts
from ...url_values import page_number
from .. import show_domain_error
from . import bp


@bp.get("/users")
def users():  # type: ignore[no-untyped-def]
    role = request.args.get("role")
    query = db.select(User).order_by(User.role, User.name)
    if role in ROLES:
        query = query.where(User.role == role)
    page = db.paginate(query, page=page_number(), per_page=50, error_out=True)
    return render_template("admin/users.html", page=page, role=role, roles=ROLES)


@bp.route("/users/invite", methods=["GET", "POST"])
def invite_user():  # type: ignore[no-untyped-def]
    form = InviteUserForm()
    form.cohort_id.choices = [SelectChoice(0, "No cohort"),
                              *[SelectChoice(c.id, c.name) for c in cohorts.active_cohorts()]]
    if form.validate_on_submit():
        cohort = db.session.get(Cohort, form.cohort_id.data) if form.cohort_id.data else None
        try:
            user = accounts.invite_user(
                email=form.email.data, name=form.name.data, role=form.role.data,
                invited_by=current_user, cohort=cohort, specialty=form.specialty.data or None,
                training_year=form.training_year.data, site=form.site.data or None)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"Invitation sent to {user.email}", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/invite_user.html", form=form), 400 if form.errors else 200


@bp.post("/users/<int:user_id>/resend-activation")
def resend_activation(user_id: int):  # type: ignore[no-untyped-def]
    user = db.get_or_404(User, user_id)
    if user.password_hash is not None:
        abort(409, description="This account is already active.")
    accounts.send_activation(user, current_user)
    db.session.commit()
    flash(f"Activation email sent again to {user.email}", "success")
    return redirect(url_for("admin.users"))
