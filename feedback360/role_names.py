"""How each role is named to people: the database's ``admin`` is a "Programme lead" on every
page, email and export, never the raw value."""

from __future__ import annotations

ROLE_NAMES = {"trainee": "Trainee", "coach": "Coach", "admin": "Programme lead",
              "champion": "Leadership champion"}
ROLE_PLURALS = {"trainee": "Trainees", "coach": "Coaches", "admin": "Programme leads",
                "champion": "Leadership champions"}


def role_name(role: str | None, plural: bool = False) -> str:
    """``"admin"`` -> ``"Programme lead"`` (``plural``: ``"Programme leads"``); an unknown
    value as it is."""
    names = ROLE_PLURALS if plural else ROLE_NAMES
    return names.get(role or "", role or "")
