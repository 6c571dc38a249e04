"""The admin audit page's filters: a GET form (it only reads), so no CSRF token."""

from __future__ import annotations

from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from ..services.audit_log import AuditFilters
from ..text_input import Form


class AuditFilterForm(Form):
    class Meta:
        csrf = False  # a GET form that only reads

    who = StringField("Who (email contains)", validators=[Optional(), Length(max=254)])
    action = SelectField("Action", default="", validate_choice=False)
    date_from = DateField("From (date, UTC)", validators=[Optional()])
    date_to = DateField("To (date, UTC)", validators=[Optional()])

    def __init__(self, formdata, actions: list[str]) -> None:  # type: ignore[no-untyped-def]
        super().__init__(formdata=formdata)
        self.action.choices = [("", "Any action"), *[(a, a) for a in actions]]

    def validate_action(self, field: SelectField) -> None:
        if (field.data or "") not in {value for value, _ in field.choices}:  # type: ignore[union-attr]
            raise ValidationError("Choose an action from the list")

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The 'to' date must be the same as or after the 'from' date")

    def filters(self) -> AuditFilters:
        return AuditFilters(who=(self.who.data or "").strip() or None,
                            action=self.action.data or None,
                            date_from=self.date_from.data, date_to=self.date_to.data)
