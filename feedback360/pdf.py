"""PDF documents rendered on the server with WeasyPrint: letters of achievement, evidence packs,
board reports.

Templates extend ``templates/pdf/base.html`` (A4, NHS blue, the Liberation/Arial stack that
Debian's ``fonts-liberation`` provides). No request leaves the server while rendering: the URL
fetcher serves the app's own ``/static/`` files from disk and refuses everything else, so a
stray remote font or image in a template fails closed instead of calling out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template

PDF_MIMETYPE = "application/pdf"


class RemoteFetchRefused(ValueError):
    """A PDF template asked for something that is not one of the app's static files."""


def _static_fetcher(static_root: Path):
    root = static_root.resolve()

    def fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
        parts = urlsplit(url)
        path = unquote(parts.path)
        if parts.scheme not in ("", "file") or "/static/" not in path:
            raise RemoteFetchRefused(f"PDF rendering may not fetch {url!r}")
        relative = path.split("/static/", 1)[1]
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise RemoteFetchRefused(f"PDF rendering found no static file for {url!r}")
        return {"string": target.read_bytes(), "filename": target.name}

    return fetch


def render_pdf(template: str, **context: Any) -> bytes:
    """Render ``template`` (a Jinja template extending ``pdf/base.html``) to PDF bytes."""
    # Imported here: WeasyPrint loads Pango through cffi, which only PDF requests need.
    from weasyprint import HTML

    html = render_template(template, **context)
    static_root = Path(current_app.static_folder or "static")
    return HTML(string=html, base_url="/static/",
                url_fetcher=_static_fetcher(static_root)).write_pdf()
