"""Blueprints: thin views that parse, authorise, call a service and render."""

from __future__ import annotations

from flask_wtf import FlaskForm

from ..services import DomainError


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Attach a service's refusal to the form field it concerns (or to the whole form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
