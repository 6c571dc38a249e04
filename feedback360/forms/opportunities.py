"""Forms of the leadership opportunities catalogue (``views/opportunities.py`` and
``views/opportunity_admin.py``). The rules (required, lengths, known kind, site and elements) are
the service's, so each has one wording; the fields only carry what was typed."""

from __future__ import annotations

from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField

from ..extensions import db
from ..models import OPPORTUNITY_KINDS, LeadershipOpportunity, Organisation, Site
from ..services import clcf_framework, opportunities
from ..text_input import Form
from ..url_values import DATABASE_INT_MAX


class OpportunityForm(Form):
    title = StringField("Title")
    kind = SelectField("Kind of opportunity", validate_choice=False)
    description = TextAreaField("Description")
    how_to_join = TextAreaField("How to get involved")
    contact = StringField("Contact (optional)")
    # A select whose value is a site id; "" for none. Only offered when sites exist.
    site_id = SelectField("Site", validate_choice=False)
    elements = SelectMultipleField("Leadership elements it develops", validate_choice=False)


class DeclineForm(Form):
    reason = TextAreaField("Why is it declined?")


class ActionForm(Form):
    """A button posting nothing but the CSRF token (open, close, approve, register interest)."""


def site_choices() -> list[tuple[str, str]]:
    """Every site, "Site (Organisation)"; empty when the organisation has recorded none (then
    the form has no site field)."""
    rows = db.session.execute(db.select(Site.id, Site.name, Organisation.name)
                              .join(Organisation, Organisation.id == Site.organisation_id)
                              .order_by(Organisation.name, Site.name))
    return [(str(site_id), f"{site} ({organisation})") for site_id, site, organisation in rows]


def prepare(form: OpportunityForm) -> OpportunityForm:
    form.kind.choices = [("", "Select a kind"),
                         *[(kind, opportunities.KIND_LABELS[kind]) for kind in OPPORTUNITY_KINDS]]
    form.site_id.choices = [("", "No particular site"), *site_choices()]
    form.elements.choices = clcf_framework.element_choices()
    return form


def _site_id(raw: str | None) -> int | None:
    """The chosen site's id; one that cannot be a site id is made one that matches no site, so
    the service's "Select a site from the list" answers it."""
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= DATABASE_INT_MAX:
        return int(raw)
    return 0


def fields_of(form: OpportunityForm) -> opportunities.Fields:
    return opportunities.Fields(
        title=form.title.data, kind=form.kind.data, description=form.description.data,
        how_to_join=form.how_to_join.data, contact=form.contact.data,
        site_id=_site_id(form.site_id.data), elements=list(form.elements.data or []))


def form_data(opportunity: LeadershipOpportunity) -> dict[str, object]:
    return {"title": opportunity.title, "kind": opportunity.kind,
            "description": opportunity.description, "how_to_join": opportunity.how_to_join,
            "contact": opportunity.contact or "",
            "site_id": str(opportunity.site_id) if opportunity.site_id else "",
            "elements": [row.element_key for row in opportunity.elements]}
