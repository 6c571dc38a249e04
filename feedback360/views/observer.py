"""The named observer's pages: written feedback on one activity, from an emailed link.

As the survey (``views/survey.py``): the first visit exchanges the token ``/o/<token>`` for an
observer session (the request's id and nonce in the signed session cookie) and redirects, so the
token leaves the address bar; every page checks the request again, so a withdrawal takes effect
at once; "Save and come back later" ends the session in this browser and the same emailed link
resumes. Unlike the survey, nothing here is anonymous: the welcome page says so before any
answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for

from ..authz import settle_anonymous_visitor
from ..extensions import db
from ..forms.survey import DeclineForm
from ..forms.written_feedback import ActionForm, observer_form_class
from ..models import ActivityFeedbackRequest
from ..services import DomainError
from ..services.observer_answers import (
    ANSWER_MAX_LENGTH,
    OVERALL,
    decline,
    draft_values,
    has_something,
    mark_opened,
    prompts_of,
    read_token,
    save_draft,
    submit,
    usable_request,
)
from ..services.surveys import LinkProblem
from . import show_domain_error

bp = Blueprint("observer", __name__)
bp.before_request(settle_anonymous_visitor)

SESSION_KEY = "observer"
DONE_KEY = "observer_done"


@bp.after_request
def private_headers(response):  # type: ignore[no-untyped-def]
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.errorhandler(LinkProblem)
def link_problem(problem: LinkProblem):  # type: ignore[no-untyped-def]
    db.session.rollback()
    if request.endpoint != "observer.start" and SESSION_KEY in session:
        _remember(problem)
    # The survey's page: an observer meets the same words as a rater.
    return render_template("survey/link_problem.html", problem=problem), problem.status


def _observer() -> ActivityFeedbackRequest:
    ref = session.get(SESSION_KEY)
    if isinstance(ref, dict) and isinstance(ref.get("f"), int) and isinstance(ref.get("n"), str):
        return usable_request(ref["f"], ref["n"])
    done = session.get(DONE_KEY)
    if isinstance(done, dict) and isinstance(done.get("message"), str):
        raise LinkProblem(done["message"], status=int(done.get("status") or 410),
                          detail=done.get("detail"))
    raise LinkProblem("Open the link in your email", status=404,
                      detail="To give written feedback, open the personal link in the email "
                             "that asked you for it. Anything you saved is kept.")


def _remember(problem: LinkProblem) -> None:
    session.pop(SESSION_KEY, None)
    session[DONE_KEY] = {"message": problem.message, "detail": problem.detail,
                         "status": problem.status}


def _context(feedback: ActivityFeedbackRequest, **extra: Any) -> dict[str, Any]:
    activity = feedback.activity
    return {"feedback": feedback, "activity": activity, "trainee": activity.trainee,
            "prompts": prompts_of(feedback), **extra}


@bp.get("/o/<token>")
def start(token: str):  # type: ignore[no-untyped-def]
    request_id, nonce = read_token(token)
    feedback = usable_request(request_id, nonce)
    session.pop(DONE_KEY, None)
    session[SESSION_KEY] = {"f": request_id, "n": nonce}
    mark_opened(feedback)
    db.session.commit()
    return redirect(url_for(".welcome"))


@bp.get("/observer")
def welcome():  # type: ignore[no-untyped-def]
    feedback = _observer()
    return render_template("observer/welcome.html", **_context(feedback),
                           started=has_something(feedback))


@bp.route("/observer/feedback", methods=["GET", "POST"])
def answer():  # type: ignore[no-untyped-def]
    feedback = _observer()
    prompts = prompts_of(feedback)
    form_class = observer_form_class(prompts, feedback.activity.trainee.name)
    form = form_class(data=draft_values(feedback))
    if form.validate_on_submit():
        try:
            save_draft(feedback, {name: field.data for name, field in form._fields.items()
                                  if name != "csrf_token"})
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            if request.form.get("action") == "later":
                _remember(LinkProblem("Open the link in your email to carry on", status=404,
                                      detail="Your feedback has been saved. To carry on, open "
                                             "the link in your email again."))
                session[DONE_KEY]["saved"] = True
                return redirect(url_for(".saved"))
            return redirect(url_for(".review"))
    return render_template("observer/answer.html", **_context(feedback), form=form,
                           overall=OVERALL, max_length=ANSWER_MAX_LENGTH), \
        400 if form.errors or form.form_errors else 200


def _review(feedback: ActivityFeedbackRequest, error: str | None = None):  # type: ignore[no-untyped-def]
    return render_template("observer/review.html", **_context(feedback), form=ActionForm(),
                           values=draft_values(feedback), overall=OVERALL, error=error,
                           ready=has_something(feedback)), 400 if error else 200


@bp.get("/observer/review")
def review():  # type: ignore[no-untyped-def]
    return _review(_observer())


@bp.post("/observer/submit")
def send():  # type: ignore[no-untyped-def]
    feedback = _observer()
    form = ActionForm()
    if not form.validate_on_submit():
        return _review(feedback, error="The page had expired. Check your answers and send "
                                       "them again.")
    try:
        submit(feedback)
    except LinkProblem:
        raise
    except DomainError as error:
        db.session.rollback()
        return _review(_observer(), error=error.message)
    db.session.commit()
    _remember(LinkProblem("You have already given your feedback",
                          detail="Thank you. Your feedback was submitted and cannot be "
                                 "changed."))
    return redirect(url_for(".thanks"))


@bp.get("/observer/thanks")
def thanks():  # type: ignore[no-untyped-def]
    return render_template("observer/thanks.html")


@bp.get("/observer/saved")
def saved():  # type: ignore[no-untyped-def]
    done = session.get(DONE_KEY)
    if not isinstance(done, dict) or not done.get("saved"):
        _observer()
        return redirect(url_for(".welcome"))
    return render_template("observer/saved.html")


@bp.route("/observer/decline", methods=["GET", "POST"], endpoint="decline")
def decline_request():  # type: ignore[no-untyped-def]
    feedback = _observer()
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            decline(feedback, form.reason.data)
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            _remember(LinkProblem("You declined this request",
                                  detail="You told us you would not give feedback this time."))
            return redirect(url_for(".declined"))
    return render_template("observer/decline.html", **_context(feedback), form=form,
                           max_length=ANSWER_MAX_LENGTH), \
        400 if form.errors or form.form_errors else 200


@bp.get("/observer/declined")
def declined():  # type: ignore[no-untyped-def]
    return render_template("survey/declined.html")
