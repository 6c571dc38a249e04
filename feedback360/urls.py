"""Building links for emails and checking where a ``next=`` redirect may go."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for


def absolute_url(endpoint: str, **values: object) -> str:
    """A full link for an email, built on ``SERVER_BASE_URL`` so it works outside a request too."""
    base = current_app.config["SERVER_BASE_URL"].rstrip("/")
    with current_app.test_request_context("/"):
        path = url_for(endpoint, **values)
    return f"{base}{path}"


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed; anything else goes to ``default``."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target
