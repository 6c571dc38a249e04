"""WTForms for accounts and administration. Every form carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

ROLE_CHOICES = [SelectChoice("trainee", "Trainee"), SelectChoice("coach", "Coach"),
                SelectChoice("admin", "Programme lead (admin)")]


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[
        DataRequired("Enter your email address"), Length(max=254)])
    password = PasswordField("Password", validators=[
        DataRequired("Enter your password"), Length(max=256)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email address", validators=[
        DataRequired("Enter your email address"), Length(max=254)])


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        InputRequired("Enter a new password"),
        Length(max=256, message="Password must be 256 characters or fewer")])
    confirm = PasswordField("Confirm new password", validators=[
        InputRequired("Enter the password again"),
        EqualTo("password", message="The passwords do not match")])


class InviteUserForm(FlaskForm):
    name = StringField("Full name", validators=[
        DataRequired("Enter the person's full name"), Length(max=120)])
    email = EmailField("Email address", validators=[
        DataRequired("Enter an email address"), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES,
                       validators=[DataRequired("Select a role")])
    cohort_id = SelectField("Cohort (trainees only)", coerce=int, validate_choice=True,
                            validators=[Optional()])
    specialty = StringField("Specialty", validators=[Optional(), Length(max=120)])
    training_year = IntegerField("Training year", validators=[
        Optional(), NumberRange(min=1, max=10, message="Training year must be between 1 and 10")])
    site = StringField("Site", validators=[Optional(), Length(max=120)])
