"""Text people type: control characters are refused with a clear message, on every form.

PostgreSQL refuses a NUL byte in any text value, so a NUL typed into a form used to end in a
database error (a 500); the other C0 and C1 control characters are stored, and then break what
shows them (an XLSX export, an email header, a screen reader). Nobody types them on purpose: they
come from pasting out of other programs or from forged requests. Tab and line breaks are ordinary
in a text area (several lines), and refused in a one-line field (a name, an address), where they
only ever arrive by mistake.

Every form of the app derives from ``Form``, which gives each of its text fields this check; a
form added later gets it by deriving from ``Form``, which ``tests/test_bad_input.py`` checks
every form in the package does.
"""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation

# C0 controls except tab, line feed and carriage return; DEL; the C1 controls.
_MULTI_LINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The same, with tab and line breaks refused as well.
_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f]")


def control_character(text: str, *, multi_line: bool) -> str | None:
    """The first character of ``text`` that may not be typed there, or ``None``."""
    found = (_MULTI_LINE if multi_line else _ONE_LINE).search(text)
    return found.group() if found else None


def one_line(text: str) -> str:
    """``text`` with each run of control characters (line breaks included) made one space: for
    a value stored before they were refused, going where they would break things (a mail
    header)."""
    return " ".join(_ONE_LINE.sub(" ", text).split())


def storable(text: str) -> str:
    """``text`` without NUL, which PostgreSQL cannot hold: for words sealed before NUL was
    refused (a rater's comment), so writing them out cannot fail a cycle's close for ever."""
    return text.replace("\x00", "")


def describe(character: str) -> str:
    if character == "\x00":
        return "a null character"
    if character in "\t\r\n":
        return "a tab or line break"
    return f"an invisible control character (U+{ord(character):04X})"


def refusal(label: str, character: str) -> str:
    """The message for a field (or a CSV column) holding ``character``."""
    return (f"{label} contains {describe(character)}, which cannot be saved. Remove it (it may "
            "have come with text pasted from another program) and try again")


class NoControlCharacters:
    """A WTForms validator; stops the field's other checks, whose messages would be beside the
    point."""

    field_flags: dict[str, Any] = {}

    def __init__(self, *, multi_line: bool) -> None:
        self.multi_line = multi_line

    def __call__(self, form: FlaskForm, field: Field) -> None:
        for value in _texts(field.data):
            character = control_character(value, multi_line=self.multi_line)
            if character is not None:
                field.errors[:] = []
                raise StopValidation(refusal(field.label.text, character))


def _texts(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, list | tuple):
        return [value for value in data if isinstance(value, str)]
    return []


def checks_text(field: Field) -> bool:
    """Text fields are checked; a password is never stored or shown as text, so any character
    it holds is harmless (and refusing one would lock its owner out)."""
    return isinstance(field, StringField) and not isinstance(field, PasswordField)


class Form(FlaskForm):
    """The base of every form: each text field gets ``NoControlCharacters`` first."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            field = super().bind_field(form, unbound_field, options)
            if checks_text(field):
                multi_line = isinstance(field, TextAreaField)
                field.validators = [NoControlCharacters(multi_line=multi_line),
                                    *field.validators]
            return field
