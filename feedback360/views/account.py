"""A signed-in user's own account: changing their password (every role)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from .. import session_lifetime
from ..extensions import db, limiter
from ..forms import ChangePasswordForm
from ..services import DomainError, accounts
from . import show_domain_error

bp = Blueprint("account", __name__, url_prefix="/account")


def _change_limit() -> str:
    # Guessing the current password from a hijacked session is throttled like signing in.
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_change_limit, methods=["POST"])
def change_password():  # type: ignore[no-untyped-def]
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.password.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            # Every other session has ended; this browser gets a fresh one on the new nonce.
            session_lifetime.start(user)
            flash("Your password has been changed. You have been signed out everywhere else",
                  "success")
            return redirect(url_for("home.index"))
    return render_template("account/change_password.html", form=form), \
        400 if form.errors else 200
