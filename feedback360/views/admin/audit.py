"""The audit trail for programme leads: filter, page through and download it."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, abort, render_template, request
from flask_login import current_user

from ... import audit
from ...exports import CSV_MEDIA_TYPE, records_frame, to_csv
from ...extensions import db
from ...forms.audit import AuditFilterForm
from ...services import audit_log
from ...url_values import page_number
from . import bp

PER_PAGE = 50


def _form() -> AuditFilterForm:
    args = {k: v for k, v in request.args.items() if k != "page"}
    return AuditFilterForm(request.args if args else None, audit_log.actions())


@bp.get("/audit")
def audit_trail():  # type: ignore[no-untyped-def]
    form = _form()
    if request.args and not form.validate():
        return render_template("admin/audit.html", form=form, page=None, query={}), 400
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    page = db.paginate(audit_log.query(form.filters()), page=page_number(), per_page=PER_PAGE,
                       error_out=True)
    return render_template("admin/audit.html", form=form, page=page, query=query)


@bp.get("/audit/download")
def audit_download():  # type: ignore[no-untyped-def]
    form = _form()
    if request.args and not form.validate():
        abort(400, description=" ".join(field.errors[0] for field in form if field.errors))
    filters = form.filters()
    body = to_csv(records_frame(audit_log.export_rows(filters), audit_log.EXPORT_COLUMNS))
    # Reading the trail out of the service is itself an event worth a line in it.
    audit.record(current_user, "audit.exported", None,
                 filters={k: str(v) for k, v in vars(filters).items() if v})
    db.session.commit()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(body, content_type=CSV_MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'})
