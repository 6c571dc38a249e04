"""The evidence pack's form: which released report and which activities (issue 13, point 7)."""

from __future__ import annotations

from wtforms import SelectField, SelectMultipleField

from ..text_input import Form


class EvidencePackForm(Form):
    # Checked by the service against the trainee's own released cycles and activities
    # (services.evidence.chosen), so it can say what is wrong with a choice.
    cycle_id = SelectField("Released 360 report", validate_choice=False)
    activity_ids = SelectMultipleField("Activities", coerce=int, validate_choice=False)
