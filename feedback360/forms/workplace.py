"""WTForms for organisations, sites, placements and the affordances questionnaire.

The forms check the shape of what was sent; the rules (unique names, placements that do not
overlap, every item answered) are the services', whose messages the views attach to these fields.
The affordances items themselves come from the questionnaire file, so they are read from the
request by ``services.affordances.check_answers`` rather than declared here.
"""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..services.affordances import COMMENT_MAX
from ..text_input import Form
from ..url_values import DATABASE_INT_MAX
from .cycles import DATE_PARTS, DateInputField


def record_id(value: Any) -> int | None:
    """A choice's id: a whole number the database can hold, else None (no choice), which the
    service names ("Select the site"): no junk id reaches a query."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= DATABASE_INT_MAX else None
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > DATABASE_INT_MAX:
        return None
    return int(text) or None


class OptionalDateInputField(DateInputField):
    """A date that may be left blank (all three boxes empty: no date)."""

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        if formdata is not None and not any(self.parts[part] for part in DATE_PARTS):
            self.process_errors = []
            self.data = None


class OrganisationForm(Form):
    name = StringField("Name of the organisation", validators=[
        DataRequired("Enter the organisation's name"),
        Length(max=200, message="The name must be 200 characters or fewer")])


class SiteForm(Form):
    name = StringField("Name of the site", validators=[
        DataRequired("Enter the site's name"),
        Length(max=120, message="The name must be 120 characters or fewer")])


class PlacementForm(Form):
    # Choices are every site; an unknown one gets the service's message ("Select the site").
    site_id = SelectField("Site", coerce=record_id, validate_choice=False)
    department = StringField("Department", validators=[
        DataRequired("Enter the department"), Length(max=120)])
    specialty = StringField("Specialty", validators=[Optional(), Length(max=120)])
    supervisor_name = StringField("Supervisor or training officer", validators=[
        Optional(), Length(max=120)])
    supervisor_email = EmailField("Their email address", validators=[
        Optional(), Length(max=254, message="Email address must be 254 characters or fewer")])
    started_on = DateInputField("Start date")
    ended_on = OptionalDateInputField("End date")


class AffordancesForm(Form):
    placement_id = SelectField("Which placement are you answering about?", coerce=record_id,
                               validate_choice=False)
    comment = TextAreaField("Comment", validators=[
        Length(max=COMMENT_MAX, message=f"The comment must be {COMMENT_MAX:,} characters or "
                                        "fewer")])
    share = BooleanField("Share these answers with my coach")


class SharingForm(Form):
    share = BooleanField("Share these answers with my coach")


class ReinviteForm(Form):
    invitations = SelectMultipleField("Colleagues to ask again", coerce=record_id,
                                      validate_choice=False)
