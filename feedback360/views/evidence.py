"""The trainee's evidence pack for their e-portfolio (issue 13, point 7): choose a released
report and activities, download a ZIP of two PDFs and ``evidence.json``
(``services/evidence.py``; the schema is ``docs/evidence-pack.schema.json``).

Trainees only, and only their own released cycles and activities: an id that is not theirs is
a form error, as an id that does not exist is.
"""

from __future__ import annotations

from flask import Blueprint, make_response, render_template
from flask_login import current_user

from ..authz import role_required
from ..extensions import db
from ..forms.evidence import EvidencePackForm
from ..pdf import render_pdf
from ..services import DomainError, evidence
from . import show_domain_error

bp = Blueprint("evidence", __name__, url_prefix="/portfolio/evidence")


@bp.route("", methods=["GET", "POST"])
@role_required("trainee")
def pack():  # type: ignore[no-untyped-def]
    cycles = evidence.released_cycles(current_user.id)
    activities = evidence.activities_of(current_user.id)
    form = EvidencePackForm()
    form.cycle_id.choices = [("", "No report"), *[(str(c.id), c.title) for c in cycles]]
    form.activity_ids.choices = [(a.id, a.title) for a in activities]
    if form.validate_on_submit():
        try:
            cycle, chosen = evidence.chosen(current_user, cycle_id=form.cycle_id.data,
                                            activity_ids=form.activity_ids.data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            content = evidence.pack_content(current_user, cycle, chosen)
            archive = evidence.build_zip(content, render_pdf)
            evidence.record(current_user, cycle, chosen)
            db.session.commit()
            response = make_response(archive)
            response.headers["Content-Type"] = "application/zip"
            response.headers["Content-Disposition"] = (
                f'attachment; filename="{evidence.pack_name(content)}.zip"')
            response.headers["Cache-Control"] = "no-store"
            return response
    return render_template("evidence/pack.html", form=form, cycles=cycles,
                           activities=activities), 400 if form.errors else 200
