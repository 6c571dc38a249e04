"""The trainee's feedback cycles: create, nominate colleagues, launch, follow, remind and close.

Every page shows the trainee counts only: responses in all, the rule's senior part where it may
be told, and the total number of declines (``services.response_status``). Nothing here says
which colleague answered, opened their link, declined or was reminded (DESIGN.md, Anonymity
rule 6); the nominee list looks the same whatever each one did.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..authz import role_required
from ..extensions import db
from ..forms.cycles import BulkNomineesForm, ConfirmForm, NomineeForm, OwnCycleForm
from ..instruments import Instrument
from ..models import FeedbackCycle
from ..services import (
    DomainError,
    affordances,
    cycle_starts,
    cycles,
    nominee_approval,
    reinvite,
)
from ..services.instrument_cache import instrument_for
from ..services.nominee_addresses import describe_allowed_domains
from ..services.response_status import ResponseStatus, response_status
from ..services.surveys import self_assessment_done
from . import show_domain_error, validate_with_rules

bp = Blueprint("trainee", __name__, url_prefix="/cycles")

DEFAULT_INSTRUMENT = "clcf"


def _own_cycle(cycle_id: int, *, lock: bool = False) -> FeedbackCycle:
    """The signed-in trainee's cycle, or 404: someone else's cycle looks like no cycle at all.

    ``lock`` holds the row (PostgreSQL) for state changes, so a double-clicked launch cannot
    queue every invitation twice.
    """
    options = {"with_for_update": True} if lock else {}
    cycle = db.get_or_404(FeedbackCycle, cycle_id, **options)
    if cycle.trainee_id != current_user.id:
        abort(404)
    return cycle


def _to_cycle(cycle: FeedbackCycle, anchor: str | None = None):  # type: ignore[no-untyped-def]
    return redirect(url_for("trainee.cycle", cycle_id=cycle.id, _anchor=anchor))


CLOSE_EARLY_REFUSED = ("You can close early once enough colleagues have answered to meet the "
                       "rule, and the page can tell you so")


def _status(cycle: FeedbackCycle) -> ResponseStatus:
    return response_status(cycle, current_app.config["ANONYMITY_MIN_GROUP"],
                           current_app.config["ANONYMITY_MIN_TOTAL"])


def _colleagues(count: int) -> str:
    return f"{count} {'colleague' if count == 1 else 'colleagues'}"


@bp.get("/", endpoint="cycles")
@role_required("trainee")
def cycles_list():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(
        db.select(FeedbackCycle).where(FeedbackCycle.trainee_id == current_user.id)
        .order_by(FeedbackCycle.created_at.desc(), FeedbackCycle.id.desc())).all()
    # Only a total, and only once colleagues have been asked.
    responses = {cycle.id: sum(cycles.response_counts(cycle).values())
                 for cycle in rows if cycle.status != "draft"}
    in_progress = [cycle for cycle in rows if cycle.status in cycle_starts.IN_PROGRESS]
    return render_template("trainee/cycles.html", cycles=rows, responses=responses,
                           in_progress=in_progress, rule=None if rows else _default_rule())


def _default_rule() -> str | None:
    """The usual questionnaire's rule, for the first-visit explanation of the steps."""
    instrument = cycles.available_instruments().get(DEFAULT_INSTRUMENT)
    return instrument.validity.describe() if instrument else None


@bp.route("/new", methods=["GET", "POST"])
@role_required("trainee")
def new_cycle():  # type: ignore[no-untyped-def]
    instruments = cycles.available_instruments()
    today = cycles.today()
    form = OwnCycleForm(data={
        "instrument": DEFAULT_INSTRUMENT if DEFAULT_INSTRUMENT in instruments else None,
        "title": f"Leadership feedback {today:%B %Y}",
        "closes_on": today + timedelta(weeks=cycles.DEFAULT_WEEKS_OPEN),
    })
    form.instrument.choices = [SelectChoice(key, instrument.title)
                               for key, instrument in instruments.items()]
    if validate_with_rules(form, lambda: cycle_starts.check_new_cycle(
            form.instrument.data, form.closes_on.data)):
        try:
            cycle = cycle_starts.start_own_cycle(
                current_user, instrument_key=form.instrument.data,
                title=form.title.data or "", closes_on=form.closes_on.data,
                another=form.another.data, seen=_whole_number(form.seen.data))
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"“{cycle.title}” created. Next, rate yourself and nominate colleagues.",
                  "success")
            return _to_cycle(cycle)
    in_progress = cycle_starts.in_progress(current_user)
    # The page's own record of what it showed; a start made since is not taken as seen.
    form.seen.data = str(cycle_starts.newest_id(in_progress))
    return render_template("trainee/new_cycle.html", form=form, instruments=instruments,
                           in_progress=in_progress, max_days=cycles.MAX_DAYS_OPEN), \
        400 if form.errors else 200


def _whole_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and len(text) < 10 else 0


@bp.get("/<int:cycle_id>")
@role_required("trainee")
def cycle(cycle_id: int):  # type: ignore[no-untyped-def]
    return _cycle_page(_own_cycle(cycle_id))


def _offer_groups(form: NomineeForm, instrument: Instrument) -> None:
    form.group.choices = [SelectChoice("", "Select a group"),
                          *[SelectChoice(g.key, g.label) for g in instrument.rater_groups]]


def _cycle_page(cycle: FeedbackCycle, *, nominee_form: NomineeForm | None = None,
                bulk_form: BulkNomineesForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    instrument = instrument_for(cycle)
    nominee_form = nominee_form or NomineeForm(formdata=None)
    _offer_groups(nominee_form, instrument)
    nominees = sorted(cycles.active_invitations(cycle),
                      key=lambda i: (i.rater_name.casefold(), i.rater_email))
    context = {
        "cycle": cycle, "instrument": instrument, "nominees": nominees,
        "nominee_form": nominee_form, "bulk_form": bulk_form or BulkNomineesForm(formdata=None),
        "self_assessed": self_assessment_done(cycle),
        "nominee_warning": cycles.NOMINEE_WARNING,
        "approval": nominee_approval.state(cycle),
        "coaches": nominee_approval.coaches_of(cycle.trainee),
        "allowed_domains": describe_allowed_domains(),
        # Issue 14: the placement questions beside the self-assessment (never blocking launch),
        # and the previous placement's colleagues to ask again.
        "affordances_answered": affordances.response_in_cycle(cycle) is not None,
        "reinvite_offer": reinvite.offer(cycle),
    }
    if cycle.status == "draft":
        context["progress"] = cycles.nomination_progress(cycle)
    else:
        context.update(status=_status(cycle), min_group=current_app.config["ANONYMITY_MIN_GROUP"])
    if cycle.status == "open":
        last = cycle.last_trainee_reminder_at
        next_at = last + cycles.TRAINEE_REMINDER_GAP if last else None
        context.update(next_reminder_at=next_at,
                       can_remind=next_at is None or datetime.now(UTC) >= next_at)
    return render_template("trainee/cycle.html", **context), status


@bp.post("/<int:cycle_id>/nominees")
@role_required("trainee")
def add_nominee(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = _own_cycle(cycle_id)
    form = NomineeForm()
    _offer_groups(form, instrument_for(cycle))
    if validate_with_rules(form, lambda: cycles.nominee_problems(
            cycle, name=form.name.data, email=form.email.data, group=form.group.data)):
        try:
            invitation = cycles.nominate(cycle, name=form.name.data, email=form.email.data,
                                         group=form.group.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"{invitation.rater_name} added{_invited(cycle, 'an invitation')}", "success")
            return _to_cycle(cycle, "nominees")
    return _cycle_page(cycle, nominee_form=form, status=400)


@bp.post("/<int:cycle_id>/nominees/bulk")
@role_required("trainee")
def add_nominees(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = _own_cycle(cycle_id)
    form = BulkNomineesForm()
    if form.validate_on_submit():
        try:
            added, problems = cycles.nominate_many(cycle, form.colleagues.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            # The good lines are kept even when others are wrong: nobody retypes what worked.
            db.session.commit()
            if added:
                flash(f"{_colleagues(len(added))} added{_invited(cycle, 'invitations')}",
                      "success")
            if not problems:
                return _to_cycle(cycle, "nominees")
            form.colleagues.data = "\n".join(problem.text for problem in problems)
            form.colleagues.errors = [f"Line {problem.line}: {problem.message}"
                                      for problem in problems]
    return _cycle_page(cycle, bulk_form=form, status=400)


def _invited(cycle: FeedbackCycle, what: str) -> str:
    if cycle.status != "open":
        return ""
    if nominee_approval.required(cycle):
        return f". We will email {what} once your coach approves the changed list"
    return f" and emailed {what}"


@bp.post("/<int:cycle_id>/nominees/approval")
@role_required("trainee")
def send_for_approval(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = _own_cycle(cycle_id, lock=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        coaches = nominee_approval.request_approval(cycle)
    except DomainError as error:
        flash(error.message, "error")
        return _to_cycle(cycle, "approval")
    db.session.commit()
    names = " and ".join(coach.name for coach in coaches)
    flash(f"List sent to {names} for approval. We will email you when they have looked at it.",
          "success")
    return _to_cycle(cycle, "approval")


@bp.post("/<int:cycle_id>/nominees/<int:invitation_id>/remove")
@role_required("trainee")
def remove_nominee(cycle_id: int, invitation_id: int):  # type: ignore[no-untyped-def]
    cycle = _own_cycle(cycle_id)
    was_open = cycle.status == "open"
    try:
        invitation = cycles.remove_invitation(cycle, invitation_id)
    except DomainError as error:
        flash(error.message, "error")
        return _to_cycle(cycle, "nominees")
    name = invitation.rater_name
    db.session.commit()
    if was_open:
        flash(f"{name} removed. Their link no longer works. Any answers they had already given "
              "stay in the report, with nothing to link them to anyone.", "success")
    else:
        flash(f"{name} removed", "success")
    return _to_cycle(cycle, "nominees")


@bp.route("/<int:cycle_id>/launch", methods=["GET", "POST"])
@role_required("trainee")
def launch(cycle_id: int):  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    cycle = _own_cycle(cycle_id, lock=form.is_submitted())
    if form.validate_on_submit():
        try:
            sent = cycles.launch(cycle)
        except DomainError as error:
            flash(error.message, "error")
            return _to_cycle(cycle)
        db.session.commit()
        flash(f"Your feedback cycle is open. We are emailing {_colleagues(sent)} now.", "success")
        return _to_cycle(cycle)
    if cycle.status != "draft":
        flash("This cycle has already been launched", "error")
        return _to_cycle(cycle)
    if not cycles.nomination_progress(cycle).met:
        flash("Nominate enough colleagues to meet the rule before you launch", "error")
        return _to_cycle(cycle)
    try:
        nominee_approval.check_approved(cycle)
    except DomainError as error:
        flash(error.message, "error")
        return _to_cycle(cycle, "approval")
    return render_template("trainee/launch.html", form=form, cycle=cycle,
                           instrument=instrument_for(cycle),
                           nominees=sorted(cycles.active_invitations(cycle),
                                           key=lambda i: i.rater_name.casefold()),
                           self_assessed=self_assessment_done(cycle))


@bp.post("/<int:cycle_id>/remind")
@role_required("trainee")
def remind(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = _own_cycle(cycle_id, lock=True)
    try:
        cycles.remind_now(cycle)
    except DomainError as error:
        flash(error.message, "error")
        return _to_cycle(cycle, "remind")
    db.session.commit()
    # No number: how many were reminded would say how many have not answered since last time.
    flash("We have emailed a reminder to the colleagues who have not answered yet", "success")
    return _to_cycle(cycle, "remind")


@bp.route("/<int:cycle_id>/close", methods=["GET", "POST"])
@role_required("trainee")
def close_cycle(cycle_id: int):  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    cycle = _own_cycle(cycle_id, lock=form.is_submitted())
    if form.validate_on_submit():
        if cycle.status == "open" and not _status(cycle).met:
            # The same words whether or not the rule is met, when the page may not tell it.
            flash(CLOSE_EARLY_REFUSED, "error")
            return _to_cycle(cycle)
        try:
            cycles.close_cycle(cycle, by=current_user, early=True)
        except DomainError as error:
            flash(error.message, "error")
            return _to_cycle(cycle)
        db.session.commit()
        flash("Your feedback cycle is closed. Your coach will review the report with you.",
              "success")
        return _to_cycle(cycle)
    if cycle.status != "open":
        flash("Only an open cycle can be closed", "error")
        return _to_cycle(cycle)
    status = _status(cycle)
    if not status.met:
        flash(CLOSE_EARLY_REFUSED, "error")
        return _to_cycle(cycle)
    return render_template("trainee/close.html", form=form, cycle=cycle, status=status,
                           instrument=instrument_for(cycle))
