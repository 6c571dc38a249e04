"""A signed-in user's own account: changing their password (every role)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from .. import account_throttle, session_lifetime
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
@limiter.limit(_change_limit, methods=["POST"], deduct_when=account_throttle.failed)
def change_password():  # type: ignore[no-untyped-def]
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        # Wrong current passwords share the account's sign-in count: a stolen session is no
        # way round the per-account limit.
        refusal = account_throttle.refusal("login", user.email)
        if refusal is not None:
            form.form_errors.append(refusal.message("login"))
            return render_template("account/change_password.html", form=form), 429, refusal.headers
        try:
            accounts.change_password(user, form.current_password.data, form.password.data)
        except DomainError as error:
            if error.field == "current_password":
                account_throttle.count("login", user.email)
            show_domain_error(form, error)
        else:
            db.session.commit()
            # Every other session has ended; this browser gets a fresh one on the new nonce.
            session_lifetime.start(
                user, second_factor=bool(session.get(session_lifetime.SECOND_FACTOR)))
            flash("Your password has been changed. You have been signed out everywhere else",
                  "success")
            return redirect(url_for("home.index"))
    return render_template("account/change_password.html", form=form), \
        400 if form.errors else 200
