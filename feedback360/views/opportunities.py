"""The leadership opportunities catalogue for trainees and coaches: browse the open entries by
CLCF domain, kind and site, read one, register or withdraw interest, propose an opportunity and
follow one's proposals. Coaches browse read-only; leads keep the catalogue in
``views/opportunity_admin.py``.

An entry a person may not see (closed, declined, someone else's proposal) is a 404, as if it did
not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..authz import role_required
from ..extensions import db
from ..forms.opportunities import ActionForm, OpportunityForm, fields_of, prepare, site_choices
from ..models import OPPORTUNITY_KINDS, LeadershipOpportunity, Site
from ..services import DomainError, DomainErrors, clcf_framework, opportunities
from ..url_values import DATABASE_INT_MAX, page_number
from . import show_domain_error, validate_with_rules

bp = Blueprint("opportunities", __name__, url_prefix="/opportunities")


def _filters() -> opportunities.Filters:
    """The browse filters from the query string; a value that names nothing (an unknown domain
    or kind, a site that is not one) is left out, as if not chosen."""
    domain = request.args.get("domain") or None
    kind = request.args.get("kind") or None
    raw_site = request.args.get("site") or ""
    site_id = None
    if raw_site.isascii() and raw_site.isdigit() and len(raw_site) <= 10 \
            and int(raw_site) <= DATABASE_INT_MAX and db.session.get(Site, int(raw_site)):
        site_id = int(raw_site)
    return opportunities.Filters(
        domain=domain if domain in clcf_framework.domain_titles() else None,
        kind=kind if kind in OPPORTUNITY_KINDS else None, site_id=site_id)


def _visible(opportunity_id: int) -> LeadershipOpportunity:
    opportunity = db.get_or_404(LeadershipOpportunity, opportunity_id)
    if not opportunities.may_see(current_user, opportunity):
        abort(404)
    return opportunity


@bp.get("")
@role_required("trainee", "coach")
def browse():  # type: ignore[no-untyped-def]
    filters = _filters()
    page = db.paginate(opportunities.browse_query(filters), page=page_number(),
                       per_page=opportunities.PER_PAGE, error_out=True)
    query = {"domain": filters.domain, "kind": filters.kind, "site": filters.site_id}
    return render_template(
        "opportunities/browse.html", page=page, filters=filters, query=query,
        domains=clcf_framework.domain_titles(), kinds=opportunities.KIND_LABELS,
        sites=site_choices(), any_filter=any(v is not None for v in query.values()))


@bp.get("/<int:opportunity_id>")
@role_required("trainee", "coach")
def detail(opportunity_id: int):  # type: ignore[no-untyped-def]
    opportunity = _visible(opportunity_id)
    interested = (current_user.role == "trainee"
                  and opportunities.is_interested(opportunity, current_user))
    return render_template("opportunities/detail.html", opportunity=opportunity,
                           interested=interested, form=ActionForm(),
                           elements=clcf_framework.elements_by_key(),
                           kinds=opportunities.KIND_LABELS, statuses=opportunities.STATUS_LABELS)


def _interest(opportunity_id: int, register: bool):  # type: ignore[no-untyped-def]
    opportunity = _visible(opportunity_id)
    if not ActionForm().validate_on_submit():
        abort(400, "The form had expired. Go back, reload the page and try again.")
    try:
        changed = (opportunities.register_interest if register
                   else opportunities.withdraw_interest)(opportunity, current_user)
    except DomainError as error:
        abort(409, error.message)
    db.session.commit()
    if register:
        flash("Your interest is registered: the programme lead can see it and will be in touch"
              if changed else "You had already registered interest", "success")
    else:
        flash("Your interest is withdrawn" if changed else "You had not registered interest",
              "success")
    return redirect(url_for(".detail", opportunity_id=opportunity.id))


@bp.post("/<int:opportunity_id>/interest")
@role_required("trainee")
def register_interest(opportunity_id: int):  # type: ignore[no-untyped-def]
    return _interest(opportunity_id, register=True)


@bp.post("/<int:opportunity_id>/interest/withdraw")
@role_required("trainee")
def withdraw_interest(opportunity_id: int):  # type: ignore[no-untyped-def]
    return _interest(opportunity_id, register=False)


@bp.route("/propose", methods=["GET", "POST"])
@role_required("trainee")
def propose():  # type: ignore[no-untyped-def]
    form = prepare(OpportunityForm())
    if validate_with_rules(form, lambda: check_fields(form)):
        try:
            opportunities.propose(fields_of(form), by=current_user)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Thank you: your proposal is with the programme lead, who will approve it or "
                  "tell you why not", "success")
            return redirect(url_for(".proposals"))
    return render_template("opportunities/form.html", form=form, heading="Propose an opportunity",
                           proposing=True, **form_limits()), 400 if form.errors else 200


def check_fields(form: OpportunityForm) -> None:
    """The service's rules for what the form holds (``validate_with_rules`` shows them all)."""
    DomainErrors.raise_any(opportunities.problems(fields_of(form)))


def form_limits() -> dict[str, object]:
    return {"title_max": opportunities.TITLE_MAX_LENGTH,
            "description_max": opportunities.DESCRIPTION_MAX_LENGTH,
            "how_to_join_max": opportunities.HOW_TO_JOIN_MAX_LENGTH,
            "domains": clcf_framework.domains()}


@bp.get("/proposals")
@role_required("trainee")
def proposals():  # type: ignore[no-untyped-def]
    return render_template("opportunities/proposals.html",
                           proposals=opportunities.proposals_of(current_user),
                           statuses=opportunities.STATUS_LABELS, kinds=opportunities.KIND_LABELS)
