"""Subject access requests: everything held about one person, as a ZIP of JSON files and a
readable summary. The service gathers and audits; this view only packs and sends."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime

from flask import Response, render_template, request
from flask_login import current_user

from ...extensions import db
from ...forms import SubjectAccessForm
from ...models import User
from ...services import subject_access
from . import bp

_UNSAFE_IN_FILENAME = re.compile(r"[^a-z0-9.@_-]+")


def _zip(found: subject_access.SubjectAccess, stamp: datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for kind, records in found.sections.items():
            archive.writestr(f"{kind}.json", json.dumps(records, indent=2, ensure_ascii=False,
                                                        sort_keys=True, default=str))
        archive.writestr("summary.html", render_template(
            "admin/subject_access_summary.html", found=found, stamp=stamp,
            why_draft_sealed=subject_access.WHY_DRAFT_SEALED))
    return buffer.getvalue()


def _user_id() -> int | None:
    value = request.args.get("user", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.route("/subject-access", methods=["GET", "POST"])
def subject_access_request():  # type: ignore[no-untyped-def]
    # From a person's page: their address filled in, without putting it in the URL (and logs).
    person = db.session.get(User, user_id) if (user_id := _user_id()) else None
    form = SubjectAccessForm(email=person.email if person else None)
    if not form.validate_on_submit():
        return render_template("admin/subject_access.html", form=form), \
            400 if form.errors else 200
    found = subject_access.export(form.email.data, by=current_user)
    db.session.commit()
    if not found.found:
        return render_template("admin/subject_access.html", form=form, nothing_held=found.email)
    stamp = datetime.now(UTC)
    name = _UNSAFE_IN_FILENAME.sub("-", found.email)[:80]
    return Response(_zip(found, stamp), content_type="application/zip", headers={
        "Content-Disposition":
            f'attachment; filename="subject-access-{name}-{stamp:%Y%m%d-%H%M%S}.zip"',
        "Cache-Control": "no-store"})
