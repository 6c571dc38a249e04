"""WTForms for the trainee's feedback cycles. Every form carries a CSRF token (Flask-WTF).

The forms check only the shape of what was sent; the rules (closing-date limits, valid and unique
emails, known rater groups) belong to ``services.cycles``, whose messages the views attach to these
fields, so each rule has one wording wherever it is enforced.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..text_input import Form

DATE_PARTS = ("day", "month", "year")
BULK_MAX_LENGTH = 20_000  # a few hundred lines: far more colleagues than anyone should ask


class DateInputField(Field):
    """A date typed into the NHS date input: boxes named ``<name>-day``, ``-month``, ``-year``.

    ``parts`` keeps what was typed, so a mistyped date is shown back exactly as entered.
    """

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        # The error summary links to the field's id: make that the first box, which can take focus.
        self.id = f"{self.name}-day"
        self.parts = dict.fromkeys(DATE_PARTS, "")

    def process_data(self, value: date | None) -> None:
        self.data = value
        self.parts = ({"day": str(value.day), "month": str(value.month), "year": str(value.year)}
                      if value else dict.fromkeys(DATE_PARTS, ""))

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(None, data, extra_filters)
        if formdata is None:
            return
        self.parts = {part: (formdata.get(f"{self.name}-{part}") or "").strip()
                      for part in DATE_PARTS}
        self.raw_data = list(self.parts.values())
        self.data = None
        try:
            self.data = self._parse()
        except ValueError as error:
            self.process_errors.append(error.args[0])

    def _parse(self) -> date:
        what = self.label.text
        missing = [part for part in DATE_PARTS if not self.parts[part]]
        if len(missing) == len(DATE_PARTS):
            raise ValueError(f"Enter the {what.lower()}")
        if missing:
            raise ValueError(f"{what} must include a {' and '.join(missing)}")
        if not all(value.isdigit() for value in self.parts.values()) \
                or len(self.parts["year"]) != 4:
            raise ValueError(f"{what} must be a real date, like 15 3 2027")
        try:
            return date(int(self.parts["year"]), int(self.parts["month"]), int(self.parts["day"]))
        except (ValueError, OverflowError):  # OverflowError: a day of ten digits
            raise ValueError(f"{what} must be a real date, like 15 3 2027") from None


class NewCycleForm(Form):
    # Unknown keys are left to the service ("Select a questionnaire"), not WTForms' generic message.
    instrument = RadioField("Questionnaire", validate_choice=False,
                            validators=[InputRequired("Select a questionnaire")])
    title = StringField("Title", validators=[
        Optional(), Length(max=200, message="Title must be 200 characters or fewer")])
    closes_on = DateInputField("Closing date")


class OwnCycleForm(NewCycleForm):
    """A trainee's new cycle. ``another`` is ticked on purpose when a cycle is already in progress;
    ``seen`` is the newest cycle the page showed (``services.cycle_starts``)."""

    another = BooleanField("Yes, I want to start another feedback cycle as well")
    seen = HiddenField(default="0")


class NomineeForm(Form):
    name = StringField("Full name", validators=[DataRequired("Enter the colleague's name")])
    email = EmailField("Email address", validators=[
        DataRequired("Enter the colleague's email address"),
        Length(max=254, message="Email address must be 254 characters or fewer")])
    # Choices come from the cycle's questionnaire; an unknown group gets the service's message.
    group = SelectField("How they work with you", validate_choice=False,
                        validators=[DataRequired("Select how this colleague works with you")])


class BulkNomineesForm(Form):
    colleagues = TextAreaField("Colleagues", validators=[
        DataRequired("Enter at least one colleague: name, email, group"),
        Length(max=BULK_MAX_LENGTH,
               message=f"Paste at most {BULK_MAX_LENGTH:,} characters at a time")])


class ConfirmForm(Form):
    """A confirmation page's button: nothing to fill in but the CSRF token."""


class CohortLaunchForm(NewCycleForm):
    """A programme lead's launch for a whole cohort: the trainee's own form, then a confirmation.

    ``confirmed`` is set by the confirmation page, which sends the same values back."""

    title = StringField("Title", validators=[
        DataRequired("Enter a title"),
        Length(max=200, message="Title must be 200 characters or fewer")])
    confirmed = HiddenField()


class ReturnNomineesForm(Form):
    # Required and length are the service's rules (services/nominee_approval.py).
    reason = TextAreaField("What should they change?")
