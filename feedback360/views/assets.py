"""plotly.js, served by the app from the installed plotly package (no CDN: every page stays on
this server, and the Content-Security-Policy allows scripts from 'self' only).

The file is read once per process and kept in memory with a gzip copy. Its URL carries plotly's
version (``url_for("assets.plotly", v=PLOTLY_VERSION)``), so browsers may cache it for a year.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from importlib import resources

import plotly
from flask import Blueprint, Response, request

bp = Blueprint("assets", __name__, url_prefix="/assets")

PLOTLY_VERSION = plotly.__version__
ONE_YEAR = 365 * 24 * 3600


@functools.cache
def _plotly_js() -> tuple[bytes, bytes, str]:
    """(plain, gzipped, etag) of plotly/package_data/plotly.min.js."""
    data = resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    return data, gzip.compress(data, compresslevel=6, mtime=0), hashlib.sha256(data).hexdigest()


@bp.get("/plotly.min.js", endpoint="plotly")
def plotly_js() -> Response:
    data, packed, etag = _plotly_js()
    zipped = request.accept_encodings["gzip"] > 0
    response = Response(packed if zipped else data, mimetype="text/javascript")
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.set_etag(etag)
    return response.make_conditional(request)
