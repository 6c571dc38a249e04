"""plotly.js, served by the app: the partial bundle ``scripts/build_plotly.py`` builds into
``static/vendor/plotly/`` with only the trace types the charts draw (no CDN: every page stays on
this server, and the Content-Security-Policy allows scripts from 'self' only).

The file is read once per process and kept in memory with a gzip copy. Pages link it through
``plotly_url()`` (a template global), whose ``v`` is a hash of the file, so browsers may cache
it for a year and a rebuilt bundle gets a new URL.

A missing bundle is a build step skipped (``make assets``). In development and testing the page
asking for it fails with that message, rather than quietly drawing no charts; in production the
error is logged and the report's tables still carry every figure.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path
from typing import NamedTuple

from flask import Blueprint, Response, abort, current_app, request, url_for

bp = Blueprint("assets", __name__, url_prefix="/assets")

BUNDLE = Path(__file__).resolve().parent.parent / "static" / "vendor" / "plotly" / "plotly.min.js"
ONE_YEAR = 365 * 24 * 3600


class MissingBundle(RuntimeError):
    """The partial plotly.js bundle has not been built."""


class Bundle(NamedTuple):
    data: bytes
    gzipped: bytes
    version: str  # sha256 of data, first 16 hex digits


@functools.cache  # a missing file raises, and is looked for again next time
def plotly_bundle() -> Bundle:
    try:
        data = BUNDLE.read_bytes()
    except FileNotFoundError:
        raise MissingBundle(f"{BUNDLE} is missing: build it with `make assets` (or `python "
                            "scripts/build_plotly.py` after `npm ci`)") from None
    return Bundle(data, gzip.compress(data, compresslevel=6, mtime=0),
                  hashlib.sha256(data).hexdigest()[:16])


def plotly_url() -> str:
    try:
        version = plotly_bundle().version
    except MissingBundle:
        if current_app.config["FEEDBACK360_ENV"] != "production":
            raise
        current_app.logger.exception("charts cannot be drawn")
        version = "missing"
    return url_for("assets.plotly", v=version)


@bp.record_once
def _register_template_global(state) -> None:
    state.app.add_template_global(plotly_url)


@bp.get("/plotly.min.js", endpoint="plotly")
def plotly_js() -> Response:
    try:
        bundle = plotly_bundle()
    except MissingBundle:
        current_app.logger.exception("plotly.js requested")
        abort(404)
    zipped = request.accept_encodings["gzip"] > 0
    response = Response(bundle.gzipped if zipped else bundle.data, mimetype="text/javascript")
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.set_etag(bundle.version)
    return response.make_conditional(request)
