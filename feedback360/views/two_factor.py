"""The second factor's pages: the code step of signing in, setting up an authenticator app
(QR code drawn here, no outside request), and one's own recovery codes."""

from __future__ import annotations

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from .. import account_throttle, session_lifetime, sign_in_steps
from ..extensions import db, limiter
from ..forms import RecoveryCodesForm, TwoFactorCodeForm
from ..models import User
from ..passwords import verify_password
from ..services import DomainError, accounts, two_factor
from . import show_domain_error

bp = Blueprint("two_factor", __name__)

QR_DESCRIPTION = "QR code to add feedback360 to an authenticator app"


def _code_limit() -> str:
    # Guessing codes is throttled like guessing passwords (per address here, per account below).
    return current_app.config["LOGIN_RATE_LIMIT"]


def _refused(template: str, form, user: User, **context):  # type: ignore[no-untyped-def]
    """The 429 page while the account's sign-in attempts are used up, else None."""
    refusal = account_throttle.refusal("login", user.email)
    if refusal is None:
        return None
    form.form_errors.append(refusal.message("login"))
    return render_template(template, form=form, **context), 429, refusal.headers


def _restart_sign_in():  # type: ignore[no-untyped-def]
    flash("Sign in again to continue", "info")
    return redirect(url_for("auth.login"))


@bp.route("/auth/two-factor", methods=["GET", "POST"])
@limiter.limit(_code_limit, methods=["POST"], deduct_when=account_throttle.failed)
def verify():  # type: ignore[no-untyped-def]
    """The second step of signing in: a code from the app, or a recovery code."""
    user = sign_in_steps.pending_user()
    if user is None:
        return _restart_sign_in()
    if not two_factor.enrolled(user):
        return redirect(url_for("two_factor.setup"))
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        refused = _refused("auth/two_factor.html", form, user)
        if refused is not None:
            return refused
        try:
            how = two_factor.verify(user, form.code.data)
        except DomainError as error:
            account_throttle.count("login", user.email)
            show_domain_error(form, error)
            db.session.commit()  # keep the audit record of the failed code
        else:
            accounts.signed_in(user, second_factor=how)
            db.session.commit()
            wanted = sign_in_steps.finish(user)
            if how == "recovery":
                left = two_factor.recovery_codes_left(user)
                flash(f"You used a recovery code; {left} left. Get new ones under "
                      "\u201cTwo-step verification\u201d if you are running out", "info")
            return redirect(wanted)
    return render_template("auth/two_factor.html", form=form), 400 if form.errors else 200


def _qr_svg(uri: str) -> Markup:
    """The otpauth address as an inline SVG QR code. The markup is segno's own: paths and our
    fixed title, with the address (the only text of the user's) drawn as modules, never text."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                title=QR_DESCRIPTION, omitsize=True,
                                                svgclass="app-qr-code")
    labelled = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(QR_DESCRIPTION)}" ', 1)
    return Markup(labelled)  # noqa: S704 - built above from segno's output, no user text


@bp.route("/auth/two-factor/setup", methods=["GET", "POST"])
@limiter.limit(_code_limit, methods=["POST"], deduct_when=account_throttle.failed)
def setup():  # type: ignore[no-untyped-def]
    """Set up an authenticator app: scan the QR code (or type the key), prove it with a code.

    For someone half-way through signing in whose role needs a second factor (they are signed
    in once it is set up), and for anyone signed in who wants one."""
    signed_in = current_user.is_authenticated
    user = current_user._get_current_object() if signed_in else sign_in_steps.pending_user()
    if user is None:
        return _restart_sign_in()
    if two_factor.enrolled(user):
        flash("Two-step verification is already set up", "info")
        return redirect(url_for("two_factor.manage") if signed_in
                        else url_for("two_factor.verify"))
    secret = two_factor.pending_secret(user)
    db.session.commit()  # the same key on every visit until it is confirmed
    form = TwoFactorCodeForm()
    context = {"qr_svg": _qr_svg(two_factor.provisioning_uri(user, secret)),
               "grouped_key": two_factor.grouped(secret), "required": two_factor.required_for(user),
               "account_email": user.email}
    if form.validate_on_submit():
        refused = _refused("auth/two_factor_setup.html", form, user, **context)
        if refused is not None:
            return refused
        try:
            codes = two_factor.confirm_enrolment(user, form.code.data)
        except DomainError as error:
            account_throttle.count("login", user.email)
            show_domain_error(form, error)
        else:
            if not signed_in:
                accounts.signed_in(user, second_factor="totp")
            db.session.commit()
            if signed_in:
                session[session_lifetime.SECOND_FACTOR] = True
                wanted = url_for("home.index")
            else:
                wanted = sign_in_steps.finish(user)
            return render_template("auth/recovery_codes.html", codes=codes, wanted=wanted,
                                   first_time=True)
    return render_template("auth/two_factor_setup.html", form=form, **context), \
        400 if form.errors else 200


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
@limiter.limit(_code_limit, methods=["POST"], deduct_when=account_throttle.failed)
def manage():  # type: ignore[no-untyped-def]
    """One's own second factor: whether it is on, new recovery codes, and turning it off where
    the role allows (each needs the password)."""
    user = current_user._get_current_object()
    enrolled = two_factor.enrolled(user)
    form = RecoveryCodesForm()
    context = {"enrolled": enrolled, "left": two_factor.recovery_codes_left(user)}
    context["can_disable"] = enrolled and not two_factor.required_for(user)
    if enrolled and form.validate_on_submit():
        refused = _refused("account/two_factor.html", form, user, **context)
        if refused is not None:
            return refused
        if not verify_password(user.password_hash, form.password.data):
            # Wrong passwords share the account's sign-in count, as on "Change password".
            account_throttle.count("login", user.email)
            form.password.errors = [*form.password.errors, "Your password is not right"]
        elif form.turn_off.data:
            try:
                two_factor.disable(user)
            except DomainError as error:
                show_domain_error(form, error)
            else:
                db.session.commit()
                session.pop(session_lifetime.SECOND_FACTOR, None)
                flash("Two-step verification is off: you sign in with your password alone",
                      "success")
                return redirect(url_for("two_factor.manage"))
        else:
            codes = two_factor.regenerate_recovery_codes(user)
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes,
                                   wanted=url_for("two_factor.manage"), first_time=False)
    return render_template("account/two_factor.html", form=form, **context), \
        400 if form.errors else 200
