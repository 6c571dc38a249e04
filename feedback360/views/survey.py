"""The rater's survey. Raters have no account: the emailed link ``/s/<token>`` is their key.

The first visit exchanges the token for a rater session (the invitation's id and nonce in the
signed session cookie) and redirects to ``/survey``, so the token does not stay in the address
bar, the history, Referer headers or access logs. Every page checks the invitation again, so a
withdrawal or the cycle closing takes effect at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from wtforms import Field

from .. import reconnect
from ..authz import settle_anonymous_visitor
from ..error_pages import render_error
from ..extensions import db
from ..forms.survey import (
    DeclineForm,
    answers_as_form_data,
    first_unanswered_page,
    make_comments_form,
    make_survey_form,
    submitted_values,
)
from ..instruments import Instrument
from ..models import Invitation
from ..services import DomainError
from ..services.surveys import (
    BadAnswers,
    Draft,
    LinkProblem,
    apply_answers,
    apply_comments,
    decline,
    draft_of,
    instrument_of,
    keep_draft,
    mark_opened,
    rated_needed,
    read_survey_token,
    submit_invitation,
    usable_invitation,
)
from . import show_domain_error

bp = Blueprint("survey", __name__)

# Offered from the review page to a rater who cannot rate enough statements to submit.
NOT_SEEN_ENOUGH = "I have not seen enough of their work."

SESSION_KEY = "survey"
# Why the rater session ended (submitted, declined, withdrawn...): it outlives the session so a
# repeated submit, a refresh or the back button explains itself instead of a bare "not found".
DONE_KEY = "survey_done"


# --- Every response, every problem ------------------------------------------------------------

# Raters have no account: without a sign-in on the request, settle that at once, so reading
# current_user (the layout does) does not rewrite the rater's session cookie on every page.
bp.before_request(settle_anonymous_visitor)


@bp.after_request
def private_headers(response):  # type: ignore[no-untyped-def]
    # Assigned, not defaulted: the app-wide hook runs after this one and only sets defaults.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.errorhandler(LinkProblem)
def link_problem(problem: LinkProblem):  # type: ignore[no-untyped-def]
    db.session.rollback()
    if request.endpoint != "survey.start" and SESSION_KEY in session:
        _remember(problem)  # the invitation cannot become usable again
    return render_template("survey/link_problem.html", problem=problem), problem.status


@bp.errorhandler(BadAnswers)
def bad_answers(error: BadAnswers):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return render_error(400, f"{error.message}. Nothing from that page was saved. Go back, "
                             "reload the page and try again.")


def _rater() -> Invitation:
    """The invitation this browser is answering, if it may still be answered."""
    ref = session.get(SESSION_KEY)
    if isinstance(ref, dict) and isinstance(ref.get("i"), int) and isinstance(ref.get("n"), str):
        return usable_invitation(ref["i"], ref["n"])
    done = session.get(DONE_KEY)
    if isinstance(done, dict) and isinstance(done.get("message"), str):
        raise LinkProblem(done["message"], status=int(done.get("status") or 410),
                          detail=done.get("detail"))
    raise LinkProblem("Open the link in your email", status=404,
                      detail="To give feedback, open the personal link in the email that asked "
                             "you for it. Any answers you saved are kept.")


def _remember(problem: LinkProblem) -> None:
    """End the rater session, keeping why, so later pages (and the back button) can say so."""
    session.pop(SESSION_KEY, None)
    session[DONE_KEY] = {"message": problem.message, "detail": problem.detail,
                         "status": problem.status}


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        # The invitation was finished (submitted, declined, withdrawn) while this request ran:
        # the database refuses a draft on it. Explain that rather than fail.
        db.session.rollback()
        _rater()
        raise


def _finish(declined: bool) -> None:
    if declined:
        _remember(LinkProblem("You declined this request",
                              detail="You told us you would not give feedback this time."))
    else:
        _remember(LinkProblem("You have already given your feedback",
                              detail="Thank you. Your answers were submitted and cannot be "
                                     "changed."))


# --- Rendered once ----------------------------------------------------------------------------

@bp.app_template_global()
def layout_block_for_visitors(name: str, caller: Callable[[], Markup]) -> Markup:
    """A block of base.html (``templates/survey/_layout.html``: skip link, header, footer)
    rendered once per app and process for visitors who are not signed in, then reused.

    What those blocks show a visitor who is not signed in depends on nothing in the request
    but the path the app is mounted at, which is part of the key. Signed-in visitors' blocks
    name them, so they are always rendered; so is everything while templates reload (debug).
    """
    if current_user.is_authenticated or current_app.jinja_env.auto_reload:
        return caller()
    blocks = current_app.extensions.setdefault("survey_layout_blocks", {})
    key = (name, request.script_root)
    html = blocks.get(key)
    if html is None:
        html = blocks[key] = caller()  # Markup: the block as the template rendered it
    return html


# Rendered item radios (templates/survey/_macros.html), by everything they show. Five scale
# points and "not observed", each chosen or not: at most seven versions of each item.
_item_radios: dict[tuple[object, ...], Markup] = {}
_ITEM_RADIOS_MAX = 10_000


@bp.app_template_global()
def item_radios_once(field: Field, caller: Callable[[], Markup]) -> Markup:
    """``item_radios``'s markup for a field, rendered once per process for each different
    field: the markup depends only on what the key holds. A field with an error is always
    rendered. Used by the survey and the self-assessment alike."""
    if field.errors:
        return caller()
    key = (_shown(field.id), _shown(field.name), _shown(field.label.text),
           _shown(field.description),
           tuple((_shown(c.value), _shown(c.label), bool(c.selected))
                 for c in field.iter_choices()))
    html = _item_radios.get(key)
    if html is None:
        if len(_item_radios) >= _ITEM_RADIOS_MAX:
            _item_radios.clear()
        html = _item_radios[key] = caller()
    return html


def _shown(value: object) -> object:
    """A key for what the template shows for ``value``: a plain string as itself (it is shown
    escaped), anything else (Markup, a number) by its escaped form, tagged so it never equals
    a plain string."""
    return value if type(value) is str else ("escaped", str(escape(value)))


# --- Pages ------------------------------------------------------------------------------------

def _context(invitation: Invitation, **extra: Any) -> dict[str, Any]:
    instrument = instrument_of(invitation)
    cycle = invitation.cycle
    return {"invitation": invitation, "cycle": cycle, "trainee": cycle.trainee,
            "instrument": instrument, "group": instrument.group(invitation.rater_group),
            "draft": draft_of(invitation), "page_total": _page_total(instrument),
            **extra}


def _page_total(instrument: Instrument) -> int:
    return len(instrument.domains) + (1 if instrument.comments else 0)


def _after_page(instrument: Instrument, n: int) -> str:
    if n < len(instrument.domains):
        return url_for(".page", n=n + 1)
    return url_for(".comments") if instrument.comments else url_for(".review")


def _resume_url(instrument: Instrument, draft: Draft) -> str:
    n = first_unanswered_page(instrument, draft)
    if n is not None:
        return url_for(".page", n=n)
    if instrument.comments and not draft.comments:
        return url_for(".comments")
    return url_for(".review")


@bp.get("/s/<token>")
def start(token: str):  # type: ignore[no-untyped-def]
    invitation_id, nonce = read_survey_token(token)
    invitation = usable_invitation(invitation_id, nonce)
    session.pop(DONE_KEY, None)
    session[SESSION_KEY] = {"i": invitation_id, "n": nonce}
    mark_opened(invitation)
    db.session.commit()
    return redirect(url_for(".welcome"))


@bp.get("/survey")
def welcome():  # type: ignore[no-untyped-def]
    invitation = _rater()
    context = _context(invitation)
    instrument, draft = context["instrument"], context["draft"]
    return render_template("survey/welcome.html", **context,
                           minutes=max(5, round(len(instrument.items) / 4)),
                           started=bool(draft.answers or draft.comments),
                           resume_url=_resume_url(instrument, draft))


@bp.route("/survey/page/<int:n>", methods=["GET", "POST"])
@reconnect.idempotent  # saves the page's answers into the draft whole
def page(n: int):  # type: ignore[no-untyped-def]
    invitation = _rater()
    instrument = instrument_of(invitation)
    if not 1 <= n <= len(instrument.domains):
        abort(404)
    form_class = make_survey_form(instrument, instrument.domains[n - 1])
    draft = draft_of(invitation)
    form = form_class(data=answers_as_form_data(draft, form_class.item_keys))
    if form.validate_on_submit():
        submitted = submitted_values(request.form)
        keep_draft(invitation, apply_answers(draft, instrument, form_class.item_keys,
                                             submitted))
        _commit()
        if request.form.get("action") == "later":
            return _leave_for_later(invitation)
        return redirect(_after_page(instrument, n))
    back = url_for(".page", n=n - 1) if n > 1 else url_for(".welcome")
    return render_template("survey/page.html", **_context(invitation), form=form, n=n,
                           domain=form_class.page_domain, back_url=back,
                           action_url=url_for(".page", n=n)), 400 if form.errors else 200


@bp.route("/survey/comments", methods=["GET", "POST"])
@reconnect.idempotent  # saves the comments into the draft whole
def comments():  # type: ignore[no-untyped-def]
    invitation = _rater()
    instrument = instrument_of(invitation)
    if not instrument.comments:
        abort(404)
    form_class = make_comments_form(instrument)
    draft = draft_of(invitation)
    form = form_class(data=dict(draft.comments))
    if form.validate_on_submit():
        try:
            updated = apply_comments(draft, instrument, submitted_values(request.form))
        except BadAnswers:
            raise
        except DomainError as error:
            show_domain_error(form, error)
        else:
            keep_draft(invitation, updated)
            _commit()
            if request.form.get("action") == "later":
                return _leave_for_later(invitation)
            return redirect(url_for(".review"))
    return render_template("survey/comments.html", **_context(invitation), form=form,
                           n=_page_total(instrument),
                           back_url=url_for(".page", n=len(instrument.domains))), \
        400 if form.errors or form.form_errors else 200


def _review(invitation: Invitation, error: str | None = None):  # type: ignore[no-untyped-def]
    context = _context(invitation, error=error)
    instrument, draft = context["instrument"], context["draft"]
    return render_template(
        "survey/review.html", **context, needed=rated_needed(instrument),
        more_to_rate=draft.more_to_rate(instrument),
        unanswered=draft.unanswered(instrument), rated=draft.rated_count(),
        page_urls=[url_for(".page", n=i) for i in range(1, len(instrument.domains) + 1)],
        comments_url=url_for(".comments") if instrument.comments else None,
        back_url=_previous_of_review(instrument), submit_url=url_for(".submit"),
    ), 400 if error else 200


def _previous_of_review(instrument: Instrument) -> str:
    return url_for(".comments") if instrument.comments else url_for(
        ".page", n=len(instrument.domains))


@bp.get("/survey/review")
def review():  # type: ignore[no-untyped-def]
    return _review(_rater())


@bp.post("/survey/submit")
def submit():  # type: ignore[no-untyped-def]
    invitation = _rater()
    try:
        submit_invitation(invitation.id, session[SESSION_KEY]["n"])
    except LinkProblem:
        raise
    except DomainError as error:
        db.session.rollback()
        return _review(_rater(), error=error.message)
    db.session.commit()
    _finish(declined=False)
    return redirect(url_for(".thanks"))


@bp.get("/survey/thanks")
def thanks():  # type: ignore[no-untyped-def]
    # Deliberately needs no rater session: it is gone once the answers are in.
    return render_template("survey/thanks.html")


def _leave_for_later(invitation: Invitation):  # type: ignore[no-untyped-def]
    """"Save and come back later" ends the rater session in this browser: someone who picks up
    a shared computer next finds no way into the answers; the emailed link is the way back."""
    closes_on = invitation.cycle.closes_on
    _remember(LinkProblem("Open the link in your email to carry on", status=404,
                          detail="Your answers have been saved. To carry on answering, open "
                                 "the link in your email again."))
    session[DONE_KEY]["saved_until"] = closes_on.isoformat()
    return redirect(url_for(".saved"))


@bp.get("/survey/saved")
def saved():  # type: ignore[no-untyped-def]
    done = session.get(DONE_KEY)
    if not isinstance(done, dict) or not isinstance(done.get("saved_until"), str):
        _rater()  # no answers were saved for later in this browser: say why, or
        return redirect(url_for(".welcome"))  # a rater still answering carries on
    return render_template("survey/saved.html", closes_on=date.fromisoformat(
        done["saved_until"]))


@bp.route("/survey/decline", methods=["GET", "POST"], endpoint="decline")
def decline_request():  # type: ignore[no-untyped-def]
    invitation = _rater()
    form = DeclineForm()
    if request.method == "GET" and request.args.get("reason") == "not-seen-enough":
        form.reason.data = NOT_SEEN_ENOUGH
    if form.validate_on_submit():
        try:
            decline(invitation, form.reason.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            _commit()
            _finish(declined=True)
            return redirect(url_for(".declined"))
    return render_template("survey/decline.html", **_context(invitation), form=form), \
        400 if form.errors or form.form_errors else 200


@bp.get("/survey/declined")
def declined():  # type: ignore[no-untyped-def]
    return render_template("survey/declined.html")
