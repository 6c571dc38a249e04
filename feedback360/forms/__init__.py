"""WTForms for accounts and administration. Every form carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from ..role_names import role_name
from ..text_input import Form

ROLE_CHOICES = [SelectChoice(role, role_name(role)) for role in ("trainee", "coach", "admin")]


class LoginForm(Form):
    email = EmailField("Email address", validators=[
        DataRequired("Enter your email address"), Length(max=254)])
    password = PasswordField("Password", validators=[
        DataRequired("Enter your password"), Length(max=256)])


class ForgotPasswordForm(Form):
    email = EmailField("Email address", validators=[
        DataRequired("Enter your email address"), Length(max=254)])


class SetPasswordForm(Form):
    password = PasswordField("New password", validators=[
        InputRequired("Enter a new password"),
        Length(max=256, message="Password must be 256 characters or fewer")])
    confirm = PasswordField("Confirm new password", validators=[
        InputRequired("Enter the password again"),
        EqualTo("password", message="The passwords do not match")])


class TrainingYearField(IntegerField):
    """A training year, with a message a person can act on when it is not a number at all."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Training year must be a whole number between 1 and 10") from exc


class TwoFactorCodeForm(Form):
    code = StringField("Code", validators=[
        DataRequired("Enter the 6-digit code from your authenticator app"),
        Length(max=32, message="Enter the 6-digit code from your authenticator app")])


class RecoveryCodesForm(Form):
    """New recovery codes, or (``turn_off``) no second factor at all: the password either way."""

    password = PasswordField("Your password", validators=[
        InputRequired("Enter your password"),
        Length(max=256, message="Password must be 256 characters or fewer")])
    turn_off = SubmitField("Turn off two-step verification")


class ChangePasswordForm(Form):
    current_password = PasswordField("Current password", validators=[
        InputRequired("Enter your current password"),
        Length(max=256, message="Password must be 256 characters or fewer")])
    password = PasswordField("New password", validators=[
        InputRequired("Enter a new password"),
        Length(max=256, message="Password must be 256 characters or fewer")])
    confirm = PasswordField("Confirm new password", validators=[
        InputRequired("Enter the new password again"),
        EqualTo("password", message="The passwords do not match")])


class InviteUserForm(Form):
    name = StringField("Full name", validators=[
        DataRequired("Enter the person's full name"), Length(max=120)])
    email = EmailField("Email address", validators=[
        DataRequired("Enter an email address"), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES,
                       validators=[DataRequired("Select a role")])
    cohort_id = SelectField("Cohort (trainees only)", coerce=int, validate_choice=True,
                            validators=[Optional()])
    specialty = StringField("Specialty", validators=[Optional(), Length(max=120)])
    training_year = TrainingYearField("Training year", validators=[
        Optional(), NumberRange(min=1, max=10, message="Training year must be between 1 and 10")])
    site = StringField("Site", validators=[Optional(), Length(max=120)])


class CohortForm(Form):
    # Uniqueness and lengths are the service's rules too (services/cohorts.py).
    name = StringField("Cohort name", validators=[
        DataRequired("Enter a name for the cohort"), Length(max=120)])
    programme = StringField("Programme", validators=[Optional(), Length(max=120)])
    intake_year = IntegerField("Intake year", validators=[
        Optional(), NumberRange(min=2000, max=2100,
                                message="Intake year must be between 2000 and 2100")])
    nominee_approval_required = BooleanField("Nominee lists need coach approval")


class RosterUploadForm(Form):
    file = FileField("CSV file", validators=[FileRequired("Select a CSV file to upload")])


class ConfirmImportForm(Form):
    """The dry run's confirm button; ``roster`` is the previewed file, signed (tokens.py)."""

    roster = HiddenField(validators=[DataRequired()])


class AssignCoachForm(Form):
    coach_id = SelectField("Coach", coerce=int, validate_choice=True,
                           validators=[DataRequired("Select a coach")])


class BulkAssignCoachForm(AssignCoachForm):
    # Checked against the cohort by the view, which can say what is wrong with a choice.
    trainee_ids = SelectMultipleField("Trainees", coerce=int, validate_choice=False,
                                      validators=[DataRequired("Select at least one trainee")])


class CycleAttributesForm(Form):
    """A closed cycle's trainee attributes as at close, corrected with a reason (audited)."""

    specialty = StringField("Specialty", validators=[Optional(), Length(max=120)])
    training_year = IntegerField("Training year", validators=[
        Optional(), NumberRange(min=1, max=10, message="Training year must be between 1 and 10")])
    site = StringField("Site", validators=[Optional(), Length(max=120)])
    reason = StringField("Why are you correcting them?", validators=[
        DataRequired("Say why the attributes are being corrected"), Length(max=500)])


class UserDetailsForm(InviteUserForm):
    """An admin's edit of someone's details: the invitation's fields (the rules are the import's,
    checked again by ``services.account_admin``)."""


class ProgrammeScopeForm(Form):
    """The programmes a programme lead is limited to (none ticked: every programme)."""

    # Checked by the view against the programmes offered, so it can say what is wrong.
    programmes = SelectMultipleField("Programmes", validate_choice=False)


class SubjectAccessForm(Form):
    # Any text is looked up as typed (case-folded): a rater's address may be one the service
    # would no longer accept, and "nothing held" is itself the answer for anything else.
    email = StringField("Email address", validators=[
        DataRequired("Enter the email address of the person asking"), Length(max=254)])


class ErasureFindForm(Form):
    email = StringField("Email address", validators=[
        DataRequired("Enter the email address of the person to erase"), Length(max=254)])


class ErasureForm(Form):
    # Which person: carried in the page, not the URL (and so not the logs).
    email = HiddenField(validators=[DataRequired(), Length(max=254)])
    # Typing the address is the confirmation: a slip of the mouse cannot erase anyone.
    confirmation = StringField("Type their email address to confirm", validators=[
        DataRequired("Type the person's email address to confirm the erasure"),
        Length(max=254)])
