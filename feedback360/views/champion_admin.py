"""Inviting a leadership champion for an organisation (programme leads who lead every programme).

``GET|POST /admin/champions``: each organisation with its champions, and the invitation form
with an organisation select. The activation email is the same as for every other role.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..authz import role_required
from ..extensions import db
from ..forms.champion import ChampionInviteForm
from ..models import Organisation, User
from ..services import DomainError, accounts, lead_scope
from . import show_domain_error, validate_with_rules

bp = Blueprint("champion_admin", __name__, url_prefix="/admin/champions")


@bp.route("", methods=["GET", "POST"])
@role_required("admin")
def champions():  # type: ignore[no-untyped-def]
    if lead_scope.is_scoped(current_user):
        abort(403)  # staff accounts are for leads of every programme (lead_scope.check_account)
    organisations = db.session.scalars(db.select(Organisation).order_by(Organisation.name)).all()
    form = ChampionInviteForm()
    form.organisation_id.choices = [(0, "Select an organisation"),
                                    *[(o.id, o.name) for o in organisations]]
    if validate_with_rules(form, lambda: accounts.check_address_format(form.email.data)):
        try:
            user = accounts.invite_user(
                email=form.email.data, name=form.name.data, role="champion",
                invited_by=current_user,
                organisation=db.session.get(Organisation, form.organisation_id.data))
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"Invitation sent to {user.email}", "success")
            return redirect(url_for("champion_admin.champions"))
    champions_of: dict[int, list[User]] = {}
    for person in db.session.scalars(db.select(User).where(User.role == "champion")
                                     .order_by(User.name)):
        champions_of.setdefault(person.organisation_id or 0, []).append(person)
    return render_template("champion/admin_champions.html", form=form,
                           organisations=organisations, champions_of=champions_of), \
        400 if form.errors else 200
