"""Forms for letters of achievement and their public verification (issue 13, point 5)."""

from __future__ import annotations

from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length

from ..text_input import Form


class IssueLetterForm(Form):
    # Required, lengths and which activities may be chosen are the service's rules
    # (services.letters.check_letter), so one wording wherever they are enforced.
    activity_ids = SelectMultipleField("Activities", coerce=int, validate_choice=False)
    title = StringField("Title of the letter")
    citation = TextAreaField("Citation")


class VerifyForm(Form):
    # Anything is looked up: what cannot be a code is simply not found (services.letters).
    code = StringField("Verification code", validators=[Length(max=64, message=(
        "A verification code is 12 letters and numbers, such as K7QF-3MZP-XR9A"))])

