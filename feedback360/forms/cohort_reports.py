"""The cohort report's filter form: a GET form (nothing changes), so no CSRF token."""

from __future__ import annotations

from wtforms import SelectField
from wtforms.validators import ValidationError

from ..services.cohort_reports import FilterOptions, ReportFilters
from ..text_input import Form

ALL = ("", "All")


class FilterSelect(SelectField):
    """A select whose empty value means "all", refusing anything not offered in plain words."""

    def pre_validate(self, form: Form) -> None:
        if (self.data or "") not in {value for value, _ in self.choices}:  # type: ignore[union-attr]
            raise ValidationError(f"Choose a {self.label.text.lower()} from the list")


class ReportFilterForm(Form):
    class Meta:
        csrf = False  # a GET form that only reads

    launch = FilterSelect("Launch")
    specialty = FilterSelect("Specialty")
    training_year = FilterSelect("Training year")
    site = FilterSelect("Site")

    def __init__(self, formdata, options: FilterOptions) -> None:  # type: ignore[no-untyped-def]
        super().__init__(formdata=formdata)
        self.launch.choices = [("", "Each trainee's most recent cycle"),
                               *[(str(i), title) for i, title in options.launches]]
        self.specialty.choices = [ALL, *[(s, s) for s in options.specialties]]
        self.training_year.choices = [ALL, *[(str(y), f"Year {y}")
                                             for y in options.training_years]]
        self.site.choices = [ALL, *[(s, s) for s in options.sites]]

    def filters(self, cohort_id: int) -> ReportFilters:
        return ReportFilters(
            cohort_id, launch_id=int(self.launch.data) if self.launch.data else None,
            specialty=self.specialty.data or None,
            training_year=int(self.training_year.data) if self.training_year.data else None,
            site=self.site.data or None)

    @property
    def query(self) -> dict[str, str]:
        """The chosen filters as query arguments (for the download links)."""
        return {f.name: f.data for f in (self.launch, self.specialty, self.training_year,
                                         self.site) if f.data}
