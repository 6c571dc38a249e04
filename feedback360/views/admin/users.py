"""People and their accounts: the list, invitations, and one person's page (details, role,
deactivation, activation email, signing out everywhere, a lead's programmes). Each change is
audited by its service; a lead limited to programmes sees their trainees only (``lead_scope``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ...extensions import db
from ...forms import InviteUserForm, ProgrammeScopeForm, UserDetailsForm
from ...forms.cycles import ConfirmForm
from ...models import ROLES, Cohort, User
from ...role_names import role_name
from ...services import (
    DomainError,
    account_admin,
    accounts,
    coaching,
    cohorts,
    lead_scope,
    two_factor,
)
from ...url_values import page_number
from .. import show_domain_error, validate_with_rules
from . import bp


@bp.get("/users")
def users():  # type: ignore[no-untyped-def]
    role = request.args.get("role")
    needs = request.args.get("needs")
    query = db.select(User).where(lead_scope.user_filter(current_user)) \
        .order_by(User.role, User.name)
    if role in ROLES:
        query = query.where(User.role == role)
    else:
        role = None
    # what the admin home links to: trainees nobody could release a report for, and invitations
    # never taken up
    if needs == "coach":
        query = query.where(User.role == "trainee", User.active, ~coaching.has_active_coach())
    elif needs == "activation":
        query = query.where(User.active, User.password_hash.is_(None))
    else:
        needs = None
    page = db.paginate(query, page=page_number(), per_page=50, error_out=True)
    return render_template("admin/users.html", page=page, role=role, roles=ROLES, needs=needs,
                           scoped=lead_scope.is_scoped(current_user))


def _cohort_choices(form: InviteUserForm, keep: Cohort | None = None) -> None:
    offered = cohorts.active_cohorts(visible_to=current_user)
    if keep is not None and keep not in offered:  # an archived cohort the person is already in
        offered = [*offered, keep]
    form.cohort_id.choices = [SelectChoice(0, "No cohort"),
                              *[SelectChoice(c.id, c.name) for c in offered]]


@bp.route("/users/invite", methods=["GET", "POST"])
def invite_user():  # type: ignore[no-untyped-def]
    form = InviteUserForm()
    _cohort_choices(form)
    if validate_with_rules(form, lambda: accounts.check_address_format(form.email.data)):
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


def _user_page(user: User, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    scope = lead_scope.programmes_of(user) if user.role == "admin" else None
    unscoped = not lead_scope.is_scoped(current_user)
    return render_template("admin/user.html", person=user, form=ConfirmForm(), error=error,
                           last_sent=account_admin.activation_last_sent(user), programmes=scope,
                           may_scope=user.id != current_user.id and unscoped,
                           may_export=unscoped,
                           two_factor_on=two_factor.enrolled(user),
                           two_factor_required=two_factor.required_for(user)), status


@bp.get("/users/<int:user_id>")
def user(user_id: int):  # type: ignore[no-untyped-def]
    return _user_page(db.get_or_404(User, user_id))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id: int):  # type: ignore[no-untyped-def]
    person = db.get_or_404(User, user_id)
    form = UserDetailsForm(obj=person, cohort_id=person.cohort_id or 0)
    _cohort_choices(form, keep=person.cohort)
    if person.role == "champion":  # kept (or changed) here; made under Leadership champions
        form.role.choices = [*form.role.choices, SelectChoice("champion", role_name("champion"))]
    if validate_with_rules(form, lambda: accounts.check_address_format(form.email.data)):
        wanted = account_admin.Details(
            name=form.name.data, email=form.email.data, role=form.role.data,
            cohort_id=form.cohort_id.data or None, specialty=form.specialty.data,
            training_year=form.training_year.data, site=form.site.data)
        try:
            changes = account_admin.update_details(person, wanted, by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            return _saved(person, bool(changes), "details")
    return render_template("admin/user_form.html", form=form, person=person), \
        400 if form.errors else 200


def _saved(person: User, changed: bool, what: str):  # type: ignore[no-untyped-def]
    """Commit an edit of ``person``'s ``what`` and go back to their page, saying whether
    anything changed."""
    db.session.commit()
    flash(f"{person.name}'s {what} saved" if changed else "Nothing was changed",
          "success" if changed else "info")
    return redirect(url_for("admin.user", user_id=person.id))


def _act(user_id: int, action, done: str):  # type: ignore[no-untyped-def]
    """POST with only a CSRF token: apply ``action`` to the person and come back to their page."""
    person = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form had expired. Go back to the page and try again.")
    try:
        action(person, by=current_user)
    except DomainError as error:
        db.session.rollback()
        return _user_page(person, error.message, 409)
    db.session.commit()
    flash(done.format(name=person.name, email=person.email), "success")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
def deactivate_user(user_id: int):  # type: ignore[no-untyped-def]
    if request.method == "POST":
        return _act(user_id, account_admin.deactivate,
                    "{name}'s account is deactivated and they are signed out")
    person = db.get_or_404(User, user_id)
    if not person.active:
        flash(f"{person.name}'s account is already deactivated", "info")
        return redirect(url_for("admin.user", user_id=person.id))
    return render_template("admin/user_deactivate.html", person=person, form=ConfirmForm())


@bp.post("/users/<int:user_id>/reactivate")
def reactivate_user(user_id: int):  # type: ignore[no-untyped-def]
    return _act(user_id, account_admin.reactivate, "{name}'s account is active again")


@bp.post("/users/<int:user_id>/sign-out")
def sign_out_user(user_id: int):  # type: ignore[no-untyped-def]
    return _act(user_id, account_admin.sign_out_everywhere,
                "{name} is signed out on every device")


@bp.post("/users/<int:user_id>/resend-activation")
def resend_activation(user_id: int):  # type: ignore[no-untyped-def]
    return _act(user_id, account_admin.resend_activation, "Activation email sent again to {email}")


@bp.route("/users/<int:user_id>/two-factor/reset", methods=["GET", "POST"])
def reset_two_factor(user_id: int):  # type: ignore[no-untyped-def]
    if request.method == "POST":
        return _act(user_id, two_factor.reset,
                    "{name}'s two-step verification is reset and they are signed out")
    person = db.get_or_404(User, user_id)
    if not two_factor.enrolled(person):
        flash(f"{person.name} has not set up two-step verification", "info")
        return redirect(url_for("admin.user", user_id=person.id))
    return render_template("admin/user_two_factor_reset.html", person=person,
                           form=ConfirmForm())


@bp.route("/users/<int:user_id>/programmes", methods=["GET", "POST"])
def user_programmes(user_id: int):  # type: ignore[no-untyped-def]
    """Limit a programme lead to some programmes (for unscoped admins only: ``views.scoping``)."""
    person = db.get_or_404(User, user_id)
    if person.role != "admin":
        abort(404)
    current = lead_scope.programmes_of(person)
    offered = lead_scope.known_programmes(also=current)
    form = ProgrammeScopeForm(data={"programmes": current})
    form.programmes.choices = [SelectChoice(name, name) for name in offered]
    if form.validate_on_submit():
        try:
            if not set(form.programmes.data) <= set(offered):
                raise DomainError("Select programmes from the list", field="programmes")
            changed = lead_scope.set_programmes(person, form.programmes.data, by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            return _saved(person, bool(changed), "programmes")
    return render_template("admin/user_programmes.html", form=form, person=person), \
        400 if form.errors else 200
