"""The CSV import of users: upload, dry run (the preview), then confirm.

The confirm step posts the previewed file back, signed, so nobody uploads twice and no server
keeps a temporary file (any app server behind the load balancer can take the confirmation). The
file is checked again on confirmation, against the database as it is then.
"""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import current_user

from ... import tokens
from ...extensions import db
from ...forms import ConfirmImportForm, RosterUploadForm
from ...services import roster
from . import bp


def _limit() -> int:
    return roster.upload_limit(current_app.config["MAX_CONTENT_LENGTH"])


def _upload_page(form: RosterUploadForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/import_users.html", form=form, limit=_limit()), status


@bp.route("/users/import", methods=["GET", "POST"])
def import_users():  # type: ignore[no-untyped-def]
    form = RosterUploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400 if form.errors else 200)
    data = form.file.data.read(_limit() + 1)
    if len(data) > _limit():
        form.file.errors = [f"The file must be {_limit() // 1024} KB or smaller. Split it "
                            "into several files"]
        return _upload_page(form, 400)
    try:
        text = roster.decode(data)
        planned = roster.plan(text)
    except roster.RosterFileError as error:
        form.file.errors = [error.message]
        return _upload_page(form, 400)
    signed = tokens.issue(tokens.ROSTER_IMPORT, {"by": current_user.id, "csv": text})
    if len(signed) > current_app.config["MAX_CONTENT_LENGTH"] - 4096:  # could not be posted back
        form.file.errors = ["The file is too large to preview. Split it into several files"]
        return _upload_page(form, 400)
    confirm = ConfirmImportForm(roster=signed)
    return render_template("admin/import_preview.html", plan=planned, form=confirm,
                           filename=form.file.data.filename, minutes=roster.PREVIEW_MAX_AGE // 60)


@bp.post("/users/import/confirm")
def confirm_import():  # type: ignore[no-untyped-def]
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400, description="The import was not confirmed from its preview. Upload the file "
                               "again.")
    try:
        payload = tokens.read(tokens.ROSTER_IMPORT, form.roster.data,
                              max_age=roster.PREVIEW_MAX_AGE)
    except tokens.TokenInvalid:
        abort(400, description="The preview has expired or is not valid, so nothing was "
                               "imported. Upload the file again.")
    if not isinstance(payload, dict) or payload.get("by") != current_user.id:
        abort(400, description="This preview was made by someone else. Upload the file again.")
    try:
        planned = roster.plan(payload["csv"])
    except roster.RosterFileError as error:
        abort(400, description=error.message)
    counts = roster.apply(planned, by=current_user)
    db.session.commit()
    return render_template("admin/import_result.html", plan=planned, counts=counts)
