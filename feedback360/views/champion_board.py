"""The champion's quarterly board reports: the list and producing one, the report as an HTML
page that prints to A4, its PDF (rendered on the server) and its figures as CSV.

Every view reads the frozen ``BoardReport.figures``; only producing (again) recomputes them.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from .. import audit
from ..authz import role_required
from ..exports import CSV_MEDIA_TYPE, to_csv
from ..extensions import db
from ..forms.champion import CommentaryForm, QuarterForm
from ..models import BoardReport
from ..pdf import PDF_MIMETYPE, render_pdf
from ..quarters import Quarter
from ..services import DomainError, board_reports
from ..services.commitment import STATUS_LABELS
from ..services.commitment_figures import quarters_offered
from . import show_domain_error
from .champion import own_organisation

bp = Blueprint("champion_board", __name__, url_prefix="/champion/board")


def _quarter_form() -> QuarterForm:
    form = QuarterForm()
    form.quarter.choices = [(q.value, q.label) for q in quarters_offered(date.today())]
    return form


def _report(year: int, quarter: int) -> BoardReport:
    try:
        chosen = Quarter(year, quarter)
    except DomainError:
        abort(404)
    report = board_reports.find(own_organisation().id, chosen)
    if report is None or report.figures.get("format") != board_reports.FORMAT:
        abort(404)
    return report


def _address(report: BoardReport) -> dict[str, int]:
    return {"year": report.year, "quarter": report.quarter}


@bp.route("", methods=["GET", "POST"])
@role_required("champion")
def reports():  # type: ignore[no-untyped-def]
    organisation = own_organisation()
    form = _quarter_form()
    if form.validate_on_submit():
        try:
            if form.quarter.data not in dict(form.quarter.choices):  # type: ignore[arg-type]
                raise DomainError("Choose a quarter from the list", field="quarter")
            report = board_reports.produce(organisation, Quarter.parse(form.quarter.data),
                                           by=current_user, today=date.today())
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Board report produced", "success")
            return redirect(url_for("champion_board.report", **_address(report)))
    produced = db.session.scalars(db.select(BoardReport).where(
        BoardReport.organisation_id == organisation.id)
        .order_by(BoardReport.year.desc(), BoardReport.quarter.desc())).all()
    return render_template("champion/board_reports.html", organisation=organisation,
                           form=form, produced=produced), 400 if form.errors else 200


@bp.get("/<int:year>/<int:quarter>")
@role_required("champion")
def report(year: int, quarter: int):  # type: ignore[no-untyped-def]
    shown = _report(year, quarter)
    form = CommentaryForm(data={"commentary": shown.commentary})
    return _page(shown, form)


def _page(shown: BoardReport, form: CommentaryForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("champion/board_report.html", report=shown, data=shown.figures,
                           labels=STATUS_LABELS, form=form, quarter=Quarter(
                               shown.year, shown.quarter),
                           commentary_max=board_reports.COMMENTARY_MAX_LENGTH), status


@bp.post("/<int:year>/<int:quarter>/commentary")
@role_required("champion")
def commentary(year: int, quarter: int):  # type: ignore[no-untyped-def]
    shown = _report(year, quarter)
    form = CommentaryForm()
    if form.validate_on_submit():
        try:
            changed = board_reports.save_commentary(shown, form.commentary.data or "",
                                                    by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Commentary saved" if changed else "Nothing was changed", "success")
            return redirect(url_for("champion_board.report", **_address(shown)))
    return _page(shown, form, 400)


@bp.post("/<int:year>/<int:quarter>/produce")
@role_required("champion")
def reproduce(year: int, quarter: int):  # type: ignore[no-untyped-def]
    shown = _report(year, quarter)
    if not CommentaryForm().validate_on_submit():  # the CSRF token alone
        abort(400, description="The form has expired. Go back and try again.")
    board_reports.produce(own_organisation(), Quarter(year, quarter), by=current_user,
                          today=date.today())
    db.session.commit()
    flash("Board report produced again with today's figures", "success")
    return redirect(url_for("champion_board.report", **_address(shown)))


def _download(shown: BoardReport, body: bytes, media_type: str, extension: str) -> Response:
    audit.record(current_user, "board_report.downloaded", f"board_report:{shown.id}",
                 format=extension)
    db.session.commit()
    name = f"board-report-{shown.year}-q{shown.quarter}.{extension}"
    return Response(body, content_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.get("/<int:year>/<int:quarter>/report.pdf")
@role_required("champion")
def pdf(year: int, quarter: int):  # type: ignore[no-untyped-def]
    shown = _report(year, quarter)
    body = render_pdf("pdf/board_report.html", report=shown, data=shown.figures,
                      labels=STATUS_LABELS, quarter=Quarter(shown.year, shown.quarter))
    return _download(shown, body, PDF_MIMETYPE, "pdf")


@bp.get("/<int:year>/<int:quarter>/figures.csv")
@role_required("champion")
def csv(year: int, quarter: int):  # type: ignore[no-untyped-def]
    shown = _report(year, quarter)
    frame = pd.DataFrame(board_reports.csv_rows(shown), columns=[
        "quarter", "theme", "figure", "label", "value", "unit", "trainees", "suppressed"])
    return _download(shown, to_csv(frame), CSV_MEDIA_TYPE, "csv")
