"""Cohort launches for programme leads: open a cycle for every trainee, then follow progress.

The progress pages show counts against each cycle's validity rule and never a score: while a
cycle is open nobody may see one (DESIGN.md, Anonymity rule 3), and cohort results belong to the
cohort report, built from closed cycles.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..authz import role_required
from ..extensions import db
from ..forms.cycles import CohortLaunchForm, ConfirmForm
from ..models import Cohort, CohortLaunch, CohortLaunchCycle
from ..services import DomainError, cohort_launches, cycle_starts, cycles, launch_reminders
from ..services.instrument_cache import instrument_of_version
from ..services.launch_progress import launch_progress, launch_totals
from . import show_domain_error, validate_with_rules
from .scoping import enforce_lead_scope

bp = Blueprint("cohort", __name__, url_prefix="/cohorts")

DEFAULT_INSTRUMENT = "clcf"
SORTS = {"nudge": None, "name": lambda row: (row.name.casefold(), row.cycle_id)}


@bp.before_request
@role_required("admin")
def require_admin() -> None:
    """Every route in this blueprint is for programme leads only."""


bp.before_request(enforce_lead_scope)


def _trainees(count: int) -> str:
    return f"{count} {'trainee' if count == 1 else 'trainees'}"


@bp.route("/<int:cohort_id>/launch", methods=["GET", "POST"])
def launch(cohort_id: int):  # type: ignore[no-untyped-def]
    submitted = request.method == "POST"
    # Locked (PostgreSQL) while launching, so a double-clicked confirmation cannot launch twice:
    # the second finds every trainee with a draft cycle and is refused.
    cohort = db.get_or_404(Cohort, cohort_id, with_for_update=submitted)
    try:
        cohort_launches.check_cohort(cohort)
    except DomainError as error:
        abort(409, description=error.message)
    instruments = cycles.available_instruments()
    today = cycles.today()
    form = CohortLaunchForm(data={
        "instrument": DEFAULT_INSTRUMENT if DEFAULT_INSTRUMENT in instruments else None,
        "title": cohort_launches.default_title(cohort, today),
        "closes_on": today + timedelta(weeks=cycles.DEFAULT_WEEKS_OPEN),
    })
    form.instrument.choices = [SelectChoice(key, instrument.title)
                               for key, instrument in instruments.items()]
    if validate_with_rules(form, lambda: cycle_starts.check_new_cycle(
            form.instrument.data, form.closes_on.data)):
        try:
            plan = cohort_launches.plan_launch(
                cohort, instrument_key=form.instrument.data, title=form.title.data,
                closes_on=form.closes_on.data)
            if form.confirmed.data != "yes":
                return render_template("cohort/confirm.html", form=form, plan=plan,
                                       cohort=cohort)
            launched = cohort_launches.carry_out(plan, launched_by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            skipped = "; ".join(f"{skip.trainee.name} ({skip.reason.lower()})"
                                for skip in plan.skipped)
            flash(f"{_trainees(len(plan.trainees))} now have a draft feedback cycle and we are "
                  f"emailing each of them."
                  + (f" Not opened for {_trainees(len(plan.skipped))}: {skipped}."
                     if plan.skipped else ""), "success")
            return redirect(url_for("cohort.progress", launch_id=launched.id))
    return render_template("cohort/launch.html", form=form, cohort=cohort,
                           instruments=instruments, max_days=cycles.MAX_DAYS_OPEN), \
        400 if form.errors else 200


@bp.get("/<int:cohort_id>/launches")
def launches(cohort_id: int):  # type: ignore[no-untyped-def]
    cohort = db.get_or_404(Cohort, cohort_id)
    rows = db.session.execute(
        db.select(CohortLaunch, db.func.count(CohortLaunchCycle.cycle_id))
        .outerjoin(CohortLaunchCycle, CohortLaunchCycle.launch_id == CohortLaunch.id)
        .where(CohortLaunch.cohort_id == cohort.id)
        .group_by(CohortLaunch.id)
        .order_by(CohortLaunch.launched_at.desc(), CohortLaunch.id.desc())
        .options(db.joinedload(CohortLaunch.launched_by),
                 db.joinedload(CohortLaunch.instrument_version))).all()
    return render_template("cohort/launches.html", cohort=cohort, launches=rows)


@bp.get("/launches/<int:launch_id>")
def progress(launch_id: int):  # type: ignore[no-untyped-def]
    launch = db.get_or_404(CohortLaunch, launch_id)
    sort = request.args.get("sort", "nudge")
    if sort not in SORTS:
        sort = "nudge"
    rows = launch_progress(launch)
    if SORTS[sort]:
        rows.sort(key=SORTS[sort])
    missing = cohort_launches.missing_from(launch)
    running = cohort_launches.is_running(launch) and not launch.cohort.archived
    # whom "Send a reminder" would email (launch_reminders.to_remind), counted from the rows
    to_remind = sum(1 for row in rows if row.status == "draft" and row.active)
    return render_template("cohort/progress.html", launch=launch, rows=rows, sort=sort,
                           totals=launch_totals(launch, rows), missing=missing,
                           running=running, form=ConfirmForm(),
                           to_remind=to_remind,
                           next_reminder_at=launch_reminders.next_reminder_at(launch)
                           if running and to_remind else None,
                           addable=sum(1 for m in missing if m.now is None),
                           instrument=instrument_of_version(launch.instrument_version))


@bp.post("/launches/<int:launch_id>/add")
def add_to_launch(launch_id: int):  # type: ignore[no-untyped-def]
    launch = db.get_or_404(CohortLaunch, launch_id)
    # the cohort locked (PostgreSQL), as for a launch: a double click adds nobody twice
    db.get_or_404(Cohort, launch.cohort_id, with_for_update=True)
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form had expired. Go back to the launch and try again.")
    try:
        added = cohort_launches.add_to_launch(launch, added_by=current_user)
    except DomainError as error:
        flash(error.message, "warning")
    else:
        db.session.commit()
        one = len(added) == 1
        flash(f"{_trainees(len(added))} now {'has' if one else 'have'} a draft feedback cycle "
              f"in this launch and we are emailing {'them' if one else 'each of them'}: "
              + ", ".join(t.name for t in added) + ".", "success")
    return redirect(url_for("cohort.progress", launch_id=launch.id))


@bp.route("/launches/<int:launch_id>/remind", methods=["GET", "POST"])
def remind(launch_id: int):  # type: ignore[no-untyped-def]
    """Confirm, then email a reminder to the launch's trainees who have not launched yet."""
    launch = db.get_or_404(CohortLaunch, launch_id)
    form = ConfirmForm()
    if request.method == "POST":
        # the cohort locked (PostgreSQL), as for a launch: a double click reminds once
        db.get_or_404(Cohort, launch.cohort_id, with_for_update=True)
        if not form.validate_on_submit():
            abort(400, description="The form had expired. Go back to the launch and try again.")
        try:
            reminded = launch_reminders.send(launch, reminded_by=current_user)
        except DomainError as error:
            flash(error.message, "warning")
        else:
            db.session.commit()
            flash(f"We are emailing a reminder to {_trainees(len(reminded))}: "
                  + ", ".join(t.name for t in reminded) + ".", "success")
        return redirect(url_for("cohort.progress", launch_id=launch.id))
    return render_template("cohort/remind.html", launch=launch, form=form,
                           due=[trainee for trainee, _ in launch_reminders.to_remind(launch)],
                           next_reminder_at=launch_reminders.next_reminder_at(launch),
                           running=cohort_launches.is_running(launch)
                           and not launch.cohort.archived)
