"""The cohort report and its exports (issue 5, points 3 and 4). Admins only.

``GET /cohorts/<id>/report`` (``cohort_reports.report``): filters as a GET form; what may be shown
is decided by the service for the whole cohort, so a combination that would single someone out
gets a message, not numbers. ``GET /cohorts/<id>/report/download?file=aggregates|items&
format=csv|xlsx`` (``cohort_reports.download``): the same aggregates as a file, or the same
selection's statement-level (item) aggregates; every download is audit-logged and never cached.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import audit
from ..authz import role_required
from ..charts.affordances import affordance_tables
from ..charts.cohort import (
    breakdown_table,
    cohort_charts,
    distribution_chart,
    participation_table,
    perception_table,
    priorities_table,
    trend_table,
)
from ..exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, to_csv, to_xlsx
from ..extensions import db
from ..forms.cohort_reports import FilterSelect, ReportFilterForm
from ..models import Cohort
from ..scoring.affordance_tables import affordance_sheets
from ..scoring.cohort import CohortAnalysis, CohortReport
from ..scoring.cohort.tables import long_form, report_sheets
from ..services import DomainError
from ..services.affordance_reports import AffordanceSection, affordance_section
from ..services.cohort_reports import (
    analysis,
    cohort_report,
    filter_options,
    item_level_rows,
)
from .scoping import enforce_lead_scope

bp = Blueprint("cohort_reports", __name__)
# Before the routes' role check: someone of another role passes through it to that check.
bp.before_request(enforce_lead_scope)

FILES = ("aggregates", "items")
ITEM_SHEET = "Statements"
FORMATS = {"csv": CSV_MEDIA_TYPE, "xlsx": XLSX_MEDIA_TYPE}


@bp.get("/cohorts/<int:cohort_id>/report")
@role_required("admin")
def report(cohort_id: int):  # type: ignore[no-untyped-def]
    cohort = db.get_or_404(Cohort, cohort_id)
    options = filter_options(cohort.id)
    form = ReportFilterForm(request.args, options)
    if request.args and not form.validate():
        return render_template("cohort_reports/report.html", cohort=cohort, form=form,
                               report=None, charts=[], tables={}, items_allowed=False,
                               affordances=None), 400
    filters = form.filters(cohort.id)
    audited = analysis(cohort.id)
    shown = cohort_report(filters, audited)
    affordances = _affordances(cohort.id, audited)
    audit.record(current_user, "cohort.report_viewed", f"cohort:{cohort.id}",
                 filters=filters.as_dict())
    db.session.commit()
    return render_template(
        "cohort_reports/report.html", cohort=cohort, form=form, report=shown,
        charts={chart.id: chart for chart in cohort_charts(shown)}, tables=_tables(shown),
        items_allowed=shown.scores_shown, query=form.query, affordances=affordances,
        affordance_tables=affordance_tables(affordances.figures, affordances.change))


def _affordances(cohort_id: int, audited: CohortAnalysis | None) -> AffordanceSection:
    """The cohort's affordance figures, for the report instrument's domains."""
    return affordance_section(cohort_id, audited.instrument if audited else None)


def _tables(shown: CohortReport) -> dict[str, object]:
    tables: dict[str, object] = {"trend": trend_table(shown) if shown.trend else None}
    if shown.participation is not None:
        tables["participation"] = participation_table(shown)
    if shown.scores_shown:
        tables["weakest"] = priorities_table(
            shown, shown.weakest, "Weakest elements: lowest colleagues' average")
        tables["strongest"] = priorities_table(
            shown, shown.strongest, "Strongest elements: highest colleagues' average")
        tables["elements"] = distribution_chart(shown, shown.elements, chart_id="elements",
                                                noun="Element").table
        tables["breakdowns"] = [breakdown_table(shown, b) for b in shown.breakdowns]
    if shown.perception:
        tables["perception_elements"] = perception_table(shown, level="element")
    return tables


@bp.get("/cohorts/<int:cohort_id>/report/download")
@role_required("admin")
def download(cohort_id: int):  # type: ignore[no-untyped-def]
    cohort = db.get_or_404(Cohort, cohort_id)
    kind, extension = request.args.get("file"), request.args.get("format")
    if kind not in FILES or extension not in FORMATS:
        abort(400, description="Choose the aggregates or the item-level file, as CSV or XLSX.")
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True)
                      if k not in ("file", "format")])
    form = ReportFilterForm(args, filter_options(cohort.id))
    if args and not form.validate():
        abort(400, description=" ".join(field.errors[0] for field in form if field.errors))
    filters = form.filters(cohort.id)
    if kind == "aggregates":
        shown = cohort_report(filters)
        if not shown.publishable:
            abort(400, description=shown.message)
        affordances = _affordances(cohort.id, analysis(cohort.id))
        sheets = report_sheets(shown, _about(cohort, form)) | affordance_sheets(
            affordances.figures, affordances.change)
        body = to_csv(long_form(sheets)) if extension == "csv" else to_xlsx(sheets)
    else:
        try:
            rows = item_level_rows(filters)
        except DomainError as error:
            abort(400, description=error.message)
        body = to_csv(rows) if extension == "csv" else to_xlsx({ITEM_SHEET: rows})
    audit.record(current_user, "cohort.exported", f"cohort:{cohort.id}", kind=kind,
                 format=extension, filters=filters.as_dict())
    db.session.commit()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"cohort-{cohort.id}-{'report' if kind == 'aggregates' else 'items'}-{stamp}"
    return Response(body, content_type=FORMATS[extension], headers={
        "Content-Disposition": f'attachment; filename="{name}.{extension}"',
        "Cache-Control": "no-store"})


def _about(cohort: Cohort, form: ReportFilterForm) -> dict[str, object]:
    def chosen(field: FilterSelect) -> str:
        return dict(field.choices).get(field.data or "", "All")

    return {"Cohort": cohort.name, "Launch": chosen(form.launch),
            "Specialty": chosen(form.specialty), "Training year": chosen(form.training_year),
            "Site": chosen(form.site),
            "Downloaded": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
