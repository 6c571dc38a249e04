"""Sign in and out, account activation and password resets."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user

from .. import account_throttle, audit, session_lifetime, sign_in_steps
from ..extensions import db, limiter
from ..forms import ForgotPasswordForm, LoginForm, SetPasswordForm
from ..mail import queue_after_response
from ..services import DomainError, accounts, two_factor
from ..services.sessions import end_sessions
from ..urls import safe_next
from . import show_domain_error

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def _start_session(user) -> None:  # type: ignore[no-untyped-def]
    session_lifetime.start(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=account_throttle.failed)
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # Checked before the password, for every email alike: a locked account cannot be
        # guessed at, even with the right password, and the refusal tells nothing of accounts.
        refusal = account_throttle.refusal("login", form.email.data)
        if refusal is not None:
            form.form_errors.append(refusal.message("login"))
            return render_template("auth/login.html", form=form), 429, refusal.headers
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except DomainError as error:
            account_throttle.count("login", form.email.data)
            show_domain_error(form, error)
            db.session.commit()  # keep the audit record of the failed attempt
        else:
            db.session.commit()
            wanted = safe_next(request.args.get("next"), url_for("home.index"))
            if two_factor.enrolled(user):
                sign_in_steps.begin(user, wanted)
                return redirect(url_for("two_factor.verify"))
            if two_factor.required_for(user):
                # Nothing else until it is set up: the person is not signed in meanwhile.
                sign_in_steps.begin(user, wanted)
                return redirect(url_for("two_factor.setup"))
            accounts.signed_in(user)
            db.session.commit()
            _start_session(user)
            return redirect(wanted)
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        # Server-side: a copy of this cookie (or the user's other browsers) is dead too.
        user = current_user._get_current_object()
        end_sessions(user)
        audit.record(user, "logout", f"user:{user.id}")
        db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out", "success")
    return redirect(url_for("auth.login"))


@bp.route("/activate/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def activate(token: str):  # type: ignore[no-untyped-def]
    try:
        user = accounts.user_for_activation(token)
    except DomainError as error:
        return render_template("auth/link_problem.html", problem=error.message,
                               purpose="activation"), 410
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.activate(token, form.password.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            _start_session(user)
            flash("Your account is active and you are signed in", "success")
            return redirect(url_for("home.index"))
    status = 400 if form.errors else 200
    return render_template("auth/set_password.html", form=form, user=user,
                           heading="Activate your account", button="Activate account"), status


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def forgot_password():  # type: ignore[no-untyped-def]
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The same answer, after the same work, whether or not the address has an account (or
        # needs an activation link instead): finding out, and the mail, come after the response.
        email = form.email.data
        refusal = account_throttle.refusal("reset", email)
        if refusal is not None:
            form.form_errors.append(refusal.message("reset"))
            return render_template("auth/forgot_password.html", form=form), 429, refusal.headers
        account_throttle.count("reset", email)
        response = make_response(render_template("auth/reset_sent.html", email=email))
        return queue_after_response(response, lambda: accounts.request_password_reset(email))
    return render_template("auth/forgot_password.html", form=form), 400 if form.errors else 200


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token: str):  # type: ignore[no-untyped-def]
    try:
        user = accounts.user_for_reset(token)
    except DomainError as error:
        return render_template("auth/link_problem.html", problem=error.message,
                               purpose="reset"), 410
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash("Your password has been changed. Sign in with your new password", "success")
            return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return render_template("auth/set_password.html", form=form, user=user,
                           heading="Choose a new password", button="Change password"), status
