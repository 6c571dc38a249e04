"""Blueprints: thin views that parse, authorise, call a service and render."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm

from ..services import DomainError, DomainErrors


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Attach a service's refusal to the form field it concerns (or to the whole form); each of
    several (``DomainErrors``) to its own field."""
    for one in error.errors if isinstance(error, DomainErrors) else [error]:
        field = getattr(form, one.field, None) if one.field else None
        if field is not None:
            field.errors = [*field.errors, one.message]
        else:
            form.form_errors.append(one.message)


def validate_with_rules(form: FlaskForm, check: Callable[[], None]) -> bool:
    """The form's own checks and the service's rules for its fields, both, so a page shows every
    problem at once instead of the service's only once the form's are fixed.

    ``check`` raises the service's ``DomainError``(s) for what was sent (it must cope with a
    field the form could not read, ``None``); a field the form has already faulted keeps the
    form's message alone. Nothing is checked when the CSRF token failed: nothing sent is trusted.
    """
    valid = form.validate_on_submit()
    csrf_failed = bool(getattr(getattr(form, "csrf_token", None), "errors", None))
    if not form.is_submitted() or csrf_failed:
        return valid
    try:
        check()
    except DomainError as error:
        fresh = [one for one in (error.errors if isinstance(error, DomainErrors) else [error])
                 if not (one.field and getattr(form, one.field, None) is not None
                         and getattr(form, one.field).errors)]
        if fresh:
            show_domain_error(form, DomainErrors(fresh))
            return False
    return valid
