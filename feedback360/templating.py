"""What every template can use: the CSP nonce, the signed-in person's navigation, dates."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, url_for
from flask_login import current_user

from .role_names import role_name
from .security import csp_nonce

# Navigation per role: (label, endpoint). Later blueprints add their own entries here.
NAVIGATION: dict[str, list[tuple[str, str]]] = {
    # Time, placements, letters and the evidence pack are reached from the portfolio page, so
    # the header stays short enough for a phone.
    "trainee": [("My feedback", "trainee.cycles"), ("Portfolio", "portfolio.mine"),
                ("Activities", "activities.index"), ("Opportunities", "opportunities.browse")],
    "coach": [("My trainees", "coach.trainees"), ("Opportunities", "opportunities.browse")],
    "admin": [("Home", "home.index"), ("Users", "admin.users"), ("Cohorts", "admin.cohorts"),
              ("Opportunities", "opportunity_admin.catalogue"),
              ("Organisations", "admin.organisations"), ("Time reports", "time_reports.aggregate")],
    "champion": [("Home", "champion.home"), ("Commitment", "champion.tracker"),
                 ("Board reports", "champion_board.reports")],
}


def navigation_for(user) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    if not getattr(user, "is_authenticated", False):
        return []
    # Signing out is a POST form in the header's account bar, not a navigation link.
    return [{"text": text, "href": url_for(endpoint)}
            for text, endpoint in NAVIGATION.get(user.role, [])]


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y}"


def format_iso_date(value: str | None) -> str:
    """A date kept as ISO text (a letter's frozen content, an evidence pack), as pages write
    dates."""
    return format_date(date.fromisoformat(value)) if value else ""


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["iso_date"] = format_iso_date
    app.jinja_env.filters["role_name"] = role_name

    @app.context_processor
    def inject_navigation() -> dict[str, object]:
        return {"navigation": navigation_for(current_user), "service_name": "feedback360"}
