"""Forms of the leadership champion's pages and of inviting a champion."""

from __future__ import annotations

from wtforms import EmailField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..models import COMMITMENT_STATUSES
from ..services.commitment import STATUS_LABELS
from ..text_input import Form
from .cycles import DateInputField


class OptionalDateInputField(DateInputField):
    """A date that may be left blank (all three boxes empty)."""

    def _parse(self):  # type: ignore[no-untyped-def]
        return super()._parse() if any(self.parts.values()) else None


class CriterionForm(Form):
    # Lengths and the status are the service's rules (services/commitment.py), one wording each.
    status = RadioField("Status", validate_choice=False, choices=[
        SelectChoice(s, STATUS_LABELS[s]) for s in COMMITMENT_STATUSES])
    owner = StringField("Owner")
    evidence = TextAreaField("Evidence: notes or links")
    review_on = OptionalDateInputField("Review date")


class QuarterForm(Form):
    """Which quarter: the select offers the current quarter and the seven before it."""

    quarter = SelectField("Quarter", validate_choice=False)


class CommentaryForm(Form):
    commentary = TextAreaField("Champion's commentary")


class ChampionInviteForm(Form):
    name = StringField("Full name", validators=[
        DataRequired("Enter the person's full name"), Length(max=120)])
    email = EmailField("Email address", validators=[
        DataRequired("Enter an email address"), Length(max=254)])
    organisation_id = SelectField("Organisation", coerce=int, validate_choice=True,
                                  validators=[DataRequired("Select an organisation")])
