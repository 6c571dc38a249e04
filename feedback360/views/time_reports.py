"""Time for leadership development: a trainee's own reports (used, and not available), their
coach's view of them one by one, and the leads' aggregate of the unavailable ones (by quarter,
by site or specialty, under the cohort threshold) with its CSV.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit
from ..authz import role_required
from ..exports import CSV_MEDIA_TYPE, records_frame, to_csv
from ..extensions import db
from ..forms.activities import TimeReportForm
from ..forms.cycles import ConfirmForm
from ..models import User
from ..models.portfolio import TIME_REPORT_KINDS, TIME_UNAVAILABLE_REASONS, TimeReport
from ..services import DomainError, coaching, time_aggregate, time_reports
from ..services.time_reports import TimeValues
from . import show_domain_error

bp = Blueprint("time_reports", __name__)

FORM_TEXT = {
    "used": {"heading": "Record protected development time",
             "description": "What the time went on", "hours": "Hours used"},
    "unavailable": {"heading": "Report time not available for leadership development",
                    "description": "What was lost", "hours": "Hours lost (optional)"},
}


def _list(trainee: User, viewer: str):  # type: ignore[no-untyped-def]
    return render_template("time_reports/index.html", trainee=trainee, viewer=viewer,
                           reports=time_reports.reports_of(trainee.id),
                           totals=time_reports.totals(trainee.id),
                           kind_labels=time_reports.KIND_LABELS,
                           reason_labels=time_reports.REASON_LABELS)


@bp.route("/portfolio/time")
@role_required("trainee")
def index():  # type: ignore[no-untyped-def]
    return _list(current_user, "trainee")


@bp.route("/coach/trainees/<int:user_id>/time")
@role_required("coach")
def coach_index(user_id: int):  # type: ignore[no-untyped-def]
    trainee = db.session.get(User, user_id)
    if trainee is None or not coaching.is_coach_of(current_user, trainee.id):
        abort(404)
    return _list(trainee, "coach")


def _form(kind: str, report: TimeReport | None) -> TimeReportForm:
    data = {} if report is None else {
        "occurred_on": report.occurred_on, "hours": report.hours,
        "description": report.description, "reason": report.reason,
        "reason_detail": report.reason_detail}
    form = TimeReportForm(data=data)
    form.description.label.text = FORM_TEXT[kind]["description"]
    form.hours.label.text = FORM_TEXT[kind]["hours"]
    form.reason.choices = [(r, time_reports.REASON_LABELS[r]) for r in TIME_UNAVAILABLE_REASONS]
    return form


def _save(form: TimeReportForm, kind: str, report: TimeReport | None) -> bool:
    form.validate()  # the CSRF token, and a date or hours that cannot be read
    values = TimeValues(kind=kind, occurred_on=form.occurred_on.data, hours=form.hours.hours,
                        description=form.description.data,
                        reason=form.reason.data if kind == "unavailable" else None,
                        reason_detail=form.reason_detail.data)
    for problem in time_reports.report_problems(values):
        if not (problem.field and getattr(form, problem.field).errors):
            show_domain_error(form, problem)
    if form.errors:
        return False
    try:
        if report is None:
            time_reports.add_report(current_user, values)
        else:
            time_reports.update_report(report, current_user, values)
    except DomainError as error:
        show_domain_error(form, error)
        return False
    db.session.commit()
    return True


def _render(form: TimeReportForm, kind: str, report: TimeReport | None):  # type: ignore[no-untyped-def]
    return render_template("time_reports/form.html", form=form, kind=kind, report=report,
                           text=FORM_TEXT[kind],
                           text_max=time_reports.TEXT_MAX_LENGTH), 400 if form.errors else 200


@bp.route("/portfolio/time/new", methods=["GET", "POST"])
@role_required("trainee")
def new_report():  # type: ignore[no-untyped-def]
    kind = request.args.get("kind") or "used"
    if kind not in TIME_REPORT_KINDS:
        abort(404)
    form = _form(kind, None)
    if form.is_submitted() and _save(form, kind, None):
        flash("Time not available reported" if kind == "unavailable" else "Time used recorded",
              "success")
        return redirect(url_for(".index"))
    return _render(form, kind, None)


def _own(report_id: int) -> TimeReport:
    report = db.session.get(TimeReport, report_id)
    if report is None or report.trainee_id != current_user.id:
        abort(404)
    return report


@bp.route("/portfolio/time/<int:report_id>/edit", methods=["GET", "POST"])
@role_required("trainee")
def edit_report(report_id: int):  # type: ignore[no-untyped-def]
    report = _own(report_id)
    form = _form(report.kind, report)
    if form.is_submitted() and _save(form, report.kind, report):
        flash("Report updated", "success")
        return redirect(url_for(".index"))
    return _render(form, report.kind, report)


@bp.route("/portfolio/time/<int:report_id>/delete", methods=["GET", "POST"])
@role_required("trainee")
def delete_report(report_id: int):  # type: ignore[no-untyped-def]
    report = _own(report_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        time_reports.delete_report(report, current_user)
        db.session.commit()
        flash("Report deleted", "success")
        return redirect(url_for(".index"))
    return render_template("time_reports/delete.html", report=report, form=form,
                           kind_labels=time_reports.KIND_LABELS), 400 if form.errors else 200


def _shown() -> time_aggregate.Aggregate:
    try:
        return time_aggregate.aggregate(current_user, period=request.args.get("period"),
                                        breakdown=request.args.get("by"))
    except DomainError:
        abort(404)  # a quarter or breakdown the page never offers, as for a page that is not there


@bp.route("/admin/time-reports")
@role_required("admin")
def aggregate():  # type: ignore[no-untyped-def]
    shown = _shown()
    audit.record(current_user, "time_reports.viewed", None, period=shown.period.value,
                 breakdown=shown.breakdown)
    db.session.commit()
    return render_template("time_reports/aggregate.html", shown=shown,
                           breakdowns=time_aggregate.BREAKDOWNS,
                           reasons=TIME_UNAVAILABLE_REASONS,
                           reason_labels=time_reports.REASON_LABELS)


@bp.route("/admin/time-reports.csv")
@role_required("admin")
def download():  # type: ignore[no-untyped-def]
    shown = _shown()
    body = to_csv(records_frame(time_aggregate.csv_rows(shown), time_aggregate.CSV_COLUMNS))
    audit.record(current_user, "time_reports.exported", None, period=shown.period.value,
                 breakdown=shown.breakdown)
    db.session.commit()
    name = f"time-not-available-{shown.period.value}-{shown.breakdown}.csv"
    return Response(body, mimetype=CSV_MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
