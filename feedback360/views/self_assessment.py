"""The trainee's self-assessment: the raters' statements and pages, answered about themself.

Never anonymous and never counted as a rater: it becomes the cycle's one ``is_self`` Response.
It uses the survey's forms and page templates, on the questionnaire's first-person copy
(``Instrument.for_self``: "I ask colleagues...", and no "not observed" about oneself); only the
wording, the draft's home (``cycle.self_draft``) and the way back (the cycle page) differ.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..authz import role_required
from ..error_pages import render_error
from ..extensions import db
from ..forms.survey import (
    answers_as_form_data,
    first_unanswered_page,
    make_survey_form,
    submitted_values,
)
from ..models import FeedbackCycle
from ..services import DomainError
from ..services.instrument_cache import instrument_for
from ..services.surveys import (
    BadAnswers,
    Draft,
    apply_answers,
    self_assessment_done,
    submit_self_assessment,
)

bp = Blueprint("self_assessment", __name__, url_prefix="/cycles")


class Unavailable(Exception):
    """The self-assessment cannot be answered now; rendered as a page with ``status``."""

    def __init__(self, status: int, title: str, detail: str, cycle: FeedbackCycle) -> None:
        super().__init__(title)
        self.status, self.title, self.detail, self.cycle = status, title, detail, cycle


@bp.errorhandler(Unavailable)
def unavailable(problem: Unavailable):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return render_template("self_assessment/unavailable.html", problem=problem), problem.status


@bp.errorhandler(BadAnswers)
def bad_answers(error: BadAnswers):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return render_error(400, f"{error.message}. Nothing from that page was saved.")


def _answerable(cycle_id: int) -> FeedbackCycle:
    """The signed-in trainee's own cycle, while its self-assessment may still be answered."""
    cycle = db.session.get(FeedbackCycle, cycle_id)
    if cycle is None or cycle.trainee_id != current_user.id:
        abort(404)  # someone else's cycle is not acknowledged to exist
    if self_assessment_done(cycle):
        raise Unavailable(409, "You have already submitted your self-assessment",
                          "Your answers are saved with this cycle and cannot be changed.", cycle)
    if cycle.status not in ("draft", "open"):
        raise Unavailable(410, "The self-assessment has closed",
                          "The self-assessment closes with the feedback cycle, so it can no "
                          "longer be answered.", cycle)
    return cycle


def _page_urls(cycle: FeedbackCycle, count: int) -> list[str]:
    return [url_for(".page", cycle_id=cycle.id, page=n) for n in range(1, count + 1)]


@bp.get("/<int:cycle_id>/self")
@role_required("trainee")
def start(cycle_id: int):  # type: ignore[no-untyped-def]
    """Where the cycle page links: back to the first page with anything unanswered."""
    cycle = _answerable(cycle_id)
    n = first_unanswered_page(instrument_for(cycle), Draft.load(cycle.self_draft))
    if n is None:
        return redirect(url_for(".review", cycle_id=cycle.id))
    return redirect(url_for(".page", cycle_id=cycle.id, page=n))


@bp.route("/<int:cycle_id>/self/page/<int:page>", methods=["GET", "POST"])
@role_required("trainee")
def page(cycle_id: int, page: int):  # type: ignore[no-untyped-def]
    cycle = _answerable(cycle_id)
    instrument = instrument_for(cycle).for_self
    if not 1 <= page <= len(instrument.domains):
        abort(404)
    form_class = make_survey_form(instrument, instrument.domains[page - 1])
    draft = Draft.load(cycle.self_draft)
    form = form_class(data=answers_as_form_data(draft, form_class.item_keys))
    if form.validate_on_submit():
        updated = apply_answers(draft, instrument, form_class.item_keys,
                                submitted_values(request.form))
        cycle.self_draft = updated.dump()  # a new dict, so the JSON column sees the change
        db.session.commit()
        if request.form.get("action") == "later":
            flash("Your self-assessment is saved. You can finish it at any time before the "
                  "cycle closes.", "success")
            return redirect(url_for("trainee.cycle", cycle_id=cycle.id))
        if page < len(instrument.domains):
            return redirect(url_for(".page", cycle_id=cycle.id, page=page + 1))
        return redirect(url_for(".review", cycle_id=cycle.id))
    back = (url_for(".page", cycle_id=cycle.id, page=page - 1) if page > 1
            else url_for("trainee.cycle", cycle_id=cycle.id))
    return render_template("self_assessment/page.html", form=form, instrument=instrument,
                           domain=form_class.page_domain, n=page,
                           page_total=len(instrument.domains), back_url=back,
                           action_url=url_for(".page", cycle_id=cycle.id, page=page)), \
        400 if form.errors else 200


def _review(cycle: FeedbackCycle, error: str | None = None):  # type: ignore[no-untyped-def]
    instrument = instrument_for(cycle).for_self
    draft = Draft.load(cycle.self_draft)
    page_urls = _page_urls(cycle, len(instrument.domains))
    return render_template("self_assessment/review.html", cycle=cycle, instrument=instrument,
                           draft=draft, unanswered=draft.unanswered(instrument),
                           page_urls=page_urls, back_url=page_urls[-1], error=error,
                           submit_url=url_for(".submit", cycle_id=cycle.id)), \
        400 if error else 200


@bp.get("/<int:cycle_id>/self/review")
@role_required("trainee")
def review(cycle_id: int):  # type: ignore[no-untyped-def]
    return _review(_answerable(cycle_id))


@bp.post("/<int:cycle_id>/self/submit")
@role_required("trainee")
def submit(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = _answerable(cycle_id)
    try:
        submit_self_assessment(cycle)
    except DomainError as error:
        db.session.rollback()
        # A concurrent submit got there first: say so plainly rather than as a form error.
        return _review(_answerable(cycle_id), error=error.message)
    db.session.commit()
    flash("Your self-assessment has been submitted", "success")
    return redirect(url_for("trainee.cycle", cycle_id=cycle.id))
