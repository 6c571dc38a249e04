"""The leadership champion's pages: their home, the Leadership Commitment tracker with the
figures the service knows, and each criterion's edit page with its history.

A champion acts for one organisation (``User.organisation_id``): no route takes an organisation,
so a champion cannot even name another's. Everyone else gets a 403.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..authz import role_required
from ..extensions import db
from ..forms.champion import CriterionForm
from ..models import Organisation
from ..quarters import Quarter
from ..services import DomainError, commitment
from ..services.commitment import STATUS_LABELS
from ..services.commitment_criteria import load_commitment
from ..services.commitment_figures import compute, quarters_offered
from . import show_domain_error

bp = Blueprint("champion", __name__, url_prefix="/champion")


def own_organisation() -> Organisation:
    organisation = db.session.get(Organisation, current_user.organisation_id)
    if organisation is None:  # the database forbids a champion without one
        abort(404)
    return organisation


def chosen_quarter(today: date) -> Quarter:
    """``?quarter=`` (one of those offered), else the current quarter; anything else is a 400."""
    raw = request.args.get("quarter")
    if not raw:
        return Quarter.containing(today)
    offered = {quarter.value: quarter for quarter in quarters_offered(today)}
    if raw not in offered:
        abort(400, description="Choose a quarter from the list.")
    return offered[raw]


@bp.get("/")
@role_required("champion")
def home():  # type: ignore[no-untyped-def]
    organisation = own_organisation()
    today = date.today()
    rows = commitment.tracker(organisation.id, today)
    overdue = [row for theme_rows in rows.values() for row in theme_rows if row.overdue]
    return render_template("champion/home.html", organisation=organisation,
                           summary=commitment.summary(rows), overdue=overdue,
                           labels=STATUS_LABELS, quarter=Quarter.containing(today))


@bp.get("/commitment")
@role_required("champion")
def tracker():  # type: ignore[no-untyped-def]
    organisation = own_organisation()
    today = date.today()
    quarter = chosen_quarter(today)
    return render_template(
        "champion/tracker.html", organisation=organisation, commitment=load_commitment(),
        rows=commitment.tracker(organisation.id, today), labels=STATUS_LABELS,
        figures=compute(organisation.id, quarter), quarter=quarter,
        quarters=list(quarters_offered(today)))


@bp.route("/commitment/<key>", methods=["GET", "POST"])
@role_required("champion")
def criterion(key: str):  # type: ignore[no-untyped-def]
    organisation = own_organisation()
    found = commitment.criterion(key)
    if found is None:
        abort(404)
    latest = commitment.latest(organisation.id).get(key)
    form = CriterionForm(data={
        "status": latest.status if latest else "not_started",
        "owner": latest.owner if latest else "", "evidence": latest.evidence if latest else "",
        "review_on": latest.review_on if latest else None})
    if form.is_submitted() and _save(form, organisation, key):
        return redirect(url_for("champion.tracker", _anchor=key))
    history = commitment.history(organisation.id, key)
    return render_template("champion/criterion.html", form=form, criterion=found,
                           theme=next(t for t in load_commitment().themes
                                      if t.key == found.theme),
                           history=history, labels=STATUS_LABELS,
                           owner_max=commitment.OWNER_MAX_LENGTH,
                           evidence_max=commitment.EVIDENCE_MAX_LENGTH,
                           overdue=commitment.is_overdue(latest, date.today())), \
        400 if form.errors else 200


def _save(form: CriterionForm, organisation: Organisation, key: str) -> bool:
    form.validate()  # the CSRF token, and a review date that is not a real date
    values = {"status": form.status.data, "owner": form.owner.data or "",
              "evidence": form.evidence.data or "", "review_on": form.review_on.data}
    for problem in commitment.problems(**values):
        if not getattr(form, problem.field or "", None) or not getattr(form, problem.field).errors:
            show_domain_error(form, problem)
    if form.errors:
        return False
    try:
        changes = commitment.record(organisation, key, by=current_user, **values)
    except DomainError as error:
        show_domain_error(form, error)
        return False
    db.session.commit()
    flash("Criterion updated" if changes else "Nothing was changed", "success")
    return True
