"""The coach: "My trainees", and the review of a closed cycle (hide comments, notes, release).

Every route is for coaches only, and every cycle is checked against the coach's assignments on
the server: a trainee who is not assigned to the coach answers 404, as if they did not exist.
The review itself is shown on the dashboard (``reports.dashboard``), which includes this
blueprint's partials; the helpers they need are registered as Jinja globals when the blueprint is.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import TextAreaField

from ..authz import role_required
from ..extensions import db
from ..forms.cycles import ConfirmForm
from ..models import CoachAssignment, CoachNote, FeedbackCycle, User
from ..services import DomainError, NotFound, coaching, cycles, nominee_approval, plans, reviews
from ..services.instrument_cache import instrument_for
from ..services.summaries import comments_for, report_for
from ..text_input import Form
from . import show_domain_error

bp = Blueprint("coach", __name__, url_prefix="/coach")


class HideCommentForm(Form):
    # Required and length are the service's rules (one wording wherever they are enforced).
    reason = TextAreaField("Why are you hiding this comment?")


class NoteForm(Form):
    text = TextAreaField("Add a private note")


# --- Jinja helpers for the partials the dashboard includes ---------------------------------------

def coach_notes(cycle: FeedbackCycle) -> list[CoachNote]:
    """The cycle's private notes, for an assigned coach only (anyone else gets none)."""
    if not (current_user.is_authenticated and coaching.is_coach_of(current_user, cycle.trainee_id)):
        return []
    return reviews.notes_for(cycle)


def plan_suggestions(cycle: FeedbackCycle, report):  # type: ignore[no-untyped-def]
    if report is None or cycle.status not in reviews.REVIEWABLE:
        return []
    return plans.suggestions(cycle, report)


def register_coach_helpers(app: Flask) -> None:
    """Jinja globals for ``coach/_review_panel.html`` and ``plan/_plan_section.html``."""
    app.jinja_env.globals.update(
        coach_notes=coach_notes, goals_for=plans.goals_for, plan_suggestions=plan_suggestions,
        goal_status_labels=plans.STATUS_LABELS, hide_reason_max=reviews.HIDE_REASON_MAX_LENGTH,
        note_max=reviews.NOTE_MAX_LENGTH)


bp.record_once(lambda state: register_coach_helpers(state.app))


# --- Helpers -------------------------------------------------------------------------------------

def _assigned_cycle(cycle_id: int, *, lock: bool = False) -> FeedbackCycle:
    """A cycle of one of the coach's trainees, or 404 (an unassigned trainee's looks absent)."""
    options = {"with_for_update": True} if lock else {}
    cycle = db.get_or_404(FeedbackCycle, cycle_id, **options)
    if not coaching.is_coach_of(current_user, cycle.trainee_id):
        abort(404)
    return cycle


def _reviewable(cycle: FeedbackCycle) -> bool:
    if cycle.status in reviews.REVIEWABLE:
        return True
    flash("This cycle has not closed yet, so there is no report to review", "error")
    return False


def _dashboard(cycle: FeedbackCycle, anchor: str | None = None):  # type: ignore[no-untyped-def]
    return redirect(url_for("reports.dashboard", cycle_id=cycle.id, _anchor=anchor))


def _to_trainees():  # type: ignore[no-untyped-def]
    return redirect(url_for("coach.trainees"))


# --- My trainees ---------------------------------------------------------------------------------

@bp.get("/trainees")
@role_required("coach")
def trainees():  # type: ignore[no-untyped-def]
    people = db.session.scalars(
        db.select(User).join(CoachAssignment, CoachAssignment.trainee_id == User.id)
        .where(CoachAssignment.coach_id == current_user.id)
        .order_by(User.name, User.id)).all()
    by_trainee: dict[int, list[FeedbackCycle]] = {person.id: [] for person in people}
    if people:
        for cycle in db.session.scalars(
                db.select(FeedbackCycle).where(FeedbackCycle.trainee_id.in_(by_trainee))
                .order_by(FeedbackCycle.created_at.desc(), FeedbackCycle.id.desc())):
            by_trainee[cycle.trainee_id].append(cycle)
    # While a cycle is open only the number of responses exists for anyone: never a score.
    progress = {cycle.id: cycles.response_progress(cycle)
                for rows in by_trainee.values() for cycle in rows if cycle.status == "open"}
    awaiting = nominee_approval.waiting_cycle_ids(
        [cycle for rows in by_trainee.values() for cycle in rows])
    # what needs the coach first: reports to review and release, nominee lists to approve
    mine = [(person, cycle) for person in people for cycle in by_trainee[person.id]]
    return render_template("coach/trainees.html", trainees=people, cycles=by_trainee,
                           progress=progress, awaiting_approval=awaiting,
                           to_review=[(p, c) for p, c in mine if c.status == "closed"],
                           to_approve=[(p, c) for p, c in mine if c.id in awaiting])


# --- Comments ------------------------------------------------------------------------------------

@bp.route("/cycles/<int:cycle_id>/comments/<handle>/hide", methods=["GET", "POST"])
@role_required("coach")
def hide_comment(cycle_id: int, handle: str):  # type: ignore[no-untyped-def]
    cycle = _assigned_cycle(cycle_id)
    if not _reviewable(cycle):
        return _to_trainees()
    try:
        comment = reviews.find_comment(cycle, handle)
    except NotFound:
        abort(404)
    if comment.hidden_at is not None:
        flash("This comment is already hidden from the trainee", "error")
        return _dashboard(cycle, "comments")
    form = HideCommentForm()
    if form.validate_on_submit():
        try:
            reviews.hide_comment(cycle, handle, current_user, form.reason.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Comment hidden. The trainee will not see it.", "success")
            return _dashboard(cycle, "comments")
    instrument = instrument_for(cycle)
    prompt = next((p for p in instrument.comments if p.key == comment.prompt_key), None)
    return render_template("coach/hide_comment.html", form=form, cycle=cycle, comment=comment,
                           prompt=prompt), 400 if form.errors else 200


@bp.post("/cycles/<int:cycle_id>/comments/<handle>/unhide")
@role_required("coach")
def unhide_comment(cycle_id: int, handle: str):  # type: ignore[no-untyped-def]
    cycle = _assigned_cycle(cycle_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if not _reviewable(cycle):
        return _to_trainees()
    try:
        reviews.unhide_comment(cycle, handle, current_user)
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(error.message, "error")
        return _dashboard(cycle, "comments")
    db.session.commit()
    flash("Comment shown again. The trainee will see it when the report is released.", "success")
    return _dashboard(cycle, "comments")


# --- Notes ---------------------------------------------------------------------------------------

@bp.route("/cycles/<int:cycle_id>/notes", methods=["GET", "POST"])
@role_required("coach")
def add_note(cycle_id: int):  # type: ignore[no-untyped-def]
    """The panel on the dashboard posts here; on a problem this page shows it, text kept."""
    cycle = _assigned_cycle(cycle_id)
    if not _reviewable(cycle):
        return _to_trainees()
    form = NoteForm()
    if form.validate_on_submit():
        try:
            reviews.add_note(cycle, current_user, form.text.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Note saved. Only coaches can see notes; the trainee never does.", "success")
            return _dashboard(cycle, "coach-notes")
    return render_template("coach/note.html", form=form, cycle=cycle,
                           notes=reviews.notes_for(cycle)), 400 if form.errors else 200


# --- Release -------------------------------------------------------------------------------------

@bp.route("/cycles/<int:cycle_id>/release", methods=["GET", "POST"])
@role_required("coach")
def release(cycle_id: int):  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    cycle = _assigned_cycle(cycle_id, lock=form.is_submitted())
    if not _reviewable(cycle):
        return _to_trainees()
    if cycle.status == "released":
        flash(reviews.already_released(cycle), "error")
        return _dashboard(cycle)
    if form.validate_on_submit():
        try:
            reviews.release(cycle, current_user)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return _dashboard(cycle)
        db.session.commit()
        flash(f"Report released to {cycle.trainee.name}. We have emailed them a link to it.",
              "success")
        return _dashboard(cycle)
    report = report_for(cycle)
    # The dashboard shows no comments at all while there are too few responses for scores.
    comments = comments_for(cycle, report, include_hidden=True) if report.enough else []
    return render_template("coach/release.html", form=form, cycle=cycle, report=report,
                           instrument=instrument_for(cycle),
                           hidden=sum(1 for c in comments if c.hidden),
                           shown=sum(1 for c in comments if not c.hidden))
