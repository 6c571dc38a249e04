"""Letters of achievement: issuing (coach, programme lead), downloading the PDF, revoking, and
the public verify page (issue 13, point 5). The rules are ``services/letters.py``.

Someone who may not reach a trainee's letters gets a 404, as if they did not exist (a coach not
assigned to the trainee, a lead outside their programmes, another trainee). The verify page is
public and rate-limited per client address (``VERIFY_RATE_LIMIT``); it answers a known and an
unknown code with the same page, saying only what ``services.letters.Verification`` holds.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user

from ..authz import role_required
from ..extensions import db, limiter
from ..forms.cycles import ConfirmForm
from ..forms.letters import IssueLetterForm, VerifyForm
from ..models import Letter, User
from ..pdf import PDF_MIMETYPE, render_pdf
from ..services import DomainError, letters
from ..services.clcf_framework import elements_by_key
from ..urls import absolute_url
from . import show_domain_error, validate_with_rules

bp = Blueprint("letters", __name__)


def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


# One count for both ways of checking a code, so alternating between them gains nothing.
_verify_checks = limiter.shared_limit(_verify_limit, scope="letters.verify")


def _trainee(user_id: int) -> User:
    """A trainee the signed-in coach or lead may issue letters for, or 404."""
    trainee = db.session.get(User, user_id)
    if not letters.may_issue(current_user, trainee):
        abort(404)
    return trainee  # type: ignore[return-value]


def _letter(letter_id: int) -> Letter:
    letter = db.session.get(Letter, letter_id)
    if letter is None or not letters.may_read(current_user, letter):
        abort(404)
    return letter


def letter_sections_context(trainee: User) -> dict[str, object]:
    """What ``letters/_letters_section.html`` needs: the trainee's letters and whether the
    signed-in person may issue one (the portfolio page includes the section)."""
    return {"letters": letters.letters_for(trainee.id), "letters_trainee": trainee,
            "may_issue_letter": letters.may_issue(current_user, trainee)}


def _register(state) -> None:  # type: ignore[no-untyped-def]
    state.app.jinja_env.globals.update(
        letters_section=letter_sections_context,
        letter_may_revoke=lambda letter: letters.may_revoke(current_user, letter))


bp.record_once(_register)


# --- Lists ---------------------------------------------------------------------------------------

@bp.get("/letters")
@role_required("trainee")
def mine():  # type: ignore[no-untyped-def]
    return render_template("letters/list.html", trainee=current_user,
                           **letter_sections_context(current_user))


@bp.get("/trainees/<int:user_id>/letters")
@role_required("coach", "admin")
def for_trainee(user_id: int):  # type: ignore[no-untyped-def]
    trainee = _trainee(user_id)
    return render_template("letters/list.html", trainee=trainee,
                           **letter_sections_context(trainee))


# --- Issue ---------------------------------------------------------------------------------------

@bp.route("/trainees/<int:user_id>/letters/new", methods=["GET", "POST"])
@role_required("coach", "admin")
def issue(user_id: int):  # type: ignore[no-untyped-def]
    trainee = _trainee(user_id)
    eligible = letters.eligible_activities(trainee.id)
    form = IssueLetterForm()
    form.activity_ids.choices = [(activity.id, activity.title) for activity in eligible]

    def check() -> None:
        letters.check_letter(trainee, activity_ids=form.activity_ids.data,
                             title=form.title.data, citation=form.citation.data)

    if eligible and validate_with_rules(form, check):
        try:
            letter = letters.issue(trainee, activity_ids=form.activity_ids.data,
                                   title=form.title.data, citation=form.citation.data,
                                   by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"Letter issued to {trainee.name}. Its verification code is "
                  f"{letter.verification_code}.", "success")
            return redirect(url_for("letters.for_trainee", user_id=trainee.id))
    return render_template("letters/issue.html", form=form, trainee=trainee, eligible=eligible,
                           elements=elements_by_key(),
                           title_max=letters.TITLE_MAX_LENGTH,
                           citation_max=letters.CITATION_MAX_LENGTH), 400 if form.errors else 200


# --- Download and revoke -------------------------------------------------------------------------

def letter_pdf(letter: Letter) -> bytes:
    return render_pdf("letters/letter_pdf.html", letter=letter, content=letter.content,
                      verify_url=absolute_url("letters.verify"))


@bp.get("/letters/<int:letter_id>/letter.pdf")
@role_required("trainee", "coach", "admin")
def download(letter_id: int):  # type: ignore[no-untyped-def]
    letter = _letter(letter_id)
    pdf = letter_pdf(letter)
    letters.record_download(letter, by=current_user)
    db.session.commit()
    response = make_response(pdf)
    response.headers["Content-Type"] = PDF_MIMETYPE
    response.headers["Content-Disposition"] = (
        f'attachment; filename="letter-of-achievement-{letter.verification_code}.pdf"')
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/letters/<int:letter_id>/revoke", methods=["GET", "POST"])
@role_required("coach", "admin")
def revoke(letter_id: int):  # type: ignore[no-untyped-def]
    letter = _letter(letter_id)
    back = redirect(url_for("letters.for_trainee", user_id=letter.trainee_id))
    if not letters.may_revoke(current_user, letter):
        abort(403)
    if letter.revoked_at is not None:
        flash("This letter has already been revoked", "error")
        return back
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            letters.revoke(letter, by=current_user)
        except DomainError as error:
            flash(error.message, "error")
            return back
        db.session.commit()
        flash("Letter revoked. Anyone checking its code is now told it was revoked.", "success")
        return back
    return render_template("letters/revoke.html", form=form, letter=letter)


# --- Public verification -------------------------------------------------------------------------

@bp.route("/verify", methods=["GET", "POST"])
@limiter.shared_limit(_verify_limit, scope="letters.verify", methods=["POST"])
def verify():  # type: ignore[no-untyped-def]
    form = VerifyForm()
    if form.validate_on_submit():
        return _verification_page(form, form.code.data)
    return render_template("letters/verify.html", form=form, checked=False,
                           found=None), 400 if form.errors else 200


@bp.get("/verify/<code>")
@_verify_checks
def verify_code(code: str):  # type: ignore[no-untyped-def]
    form = VerifyForm(formdata=None, code=code[:64])
    return _verification_page(form, code)


def _verification_page(form: VerifyForm, code: str | None):  # type: ignore[no-untyped-def]
    found = letters.verify(code)
    response = make_response(render_template("letters/verify.html", form=form, checked=True,
                                             found=found))
    # A known code and an unknown one answer alike: the same status, neither cached.
    response.headers["Cache-Control"] = "no-store"
    return response
