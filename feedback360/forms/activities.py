"""WTForms for the activity log and time reports. The forms read what was sent; every rule is
``services.activities``' or ``services.time_reports``' (one wording each), attached by the views.
"""

from __future__ import annotations

import math
from typing import Any

from wtforms import Field, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.utils import unset_value

from ..text_input import Form
from ..url_values import DATABASE_INT_MAX
from .cycles import DATE_PARTS, DateInputField


class OptionalDateInputField(DateInputField):
    """A date that may be left blank (all three boxes empty: ``None``, no error)."""

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        if formdata is not None and not any(self.parts[part] for part in DATE_PARTS):
            self.data = None
            self.process_errors = []


class HoursField(StringField):
    """A number of hours, typed: ``None`` when blank; a clear message for anything but a plain
    decimal number (no ``NaN``, no ``1e400``)."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.hours: float | None = None

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        text = (self.data or "").strip()
        self.hours = None
        if not text:
            return
        plain = text.replace(".", "", 1)
        if not (plain.isascii() and plain.isdigit()) or len(text) > 10:
            raise ValueError(f"{self.label.text} must be a number of hours, like 1.5")
        self.hours = float(text)
        if not math.isfinite(self.hours):
            raise ValueError(f"{self.label.text} must be a number of hours, like 1.5")

    def process_data(self, value: Any) -> None:
        self.hours = None if value is None else float(value)
        self.data = "" if value is None else f"{float(value):g}"


def optional_id(field: Field) -> int | None:
    """A select's chosen id, or ``None`` for the blank choice; an id no row can have is ``0``
    (which no row has either), so the service says it is not one of the choices."""
    text = (field.data or "").strip() if isinstance(field.data, str) else ""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > DATABASE_INT_MAX:
        return 0
    return int(text)


class ActivityForm(Form):
    category = SelectField("What kind was it?", validate_choice=False)
    title = StringField("Title")
    description = TextAreaField("What you did and your role")
    started_on = DateInputField("Start date")
    ended_on = OptionalDateInputField("End date")
    hours = HoursField("Time spent (hours)")
    elements = SelectMultipleField("Leadership elements", validate_choice=False)
    opportunity_id = SelectField("Catalogue opportunity (optional)", validate_choice=False)
    goal_id = SelectField("Development goal (optional)", validate_choice=False)
    placement_id = SelectField("Placement (optional)", validate_choice=False)
    went_well = TextAreaField("What went well?")
    do_differently = TextAreaField("What would you do differently?")


class TimeReportForm(Form):
    occurred_on = DateInputField("Date")
    hours = HoursField("Hours")
    description = TextAreaField("What the time went on")
    reason = RadioField("Why was the time not available?", validate_choice=False)
    reason_detail = TextAreaField("Tell us more (optional)")
