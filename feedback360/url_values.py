"""Numbers taken from the URL: route ids and ``?page=``, bounded to what the database can hold.

An id beyond the integer column's range is not merely absent: PostgreSQL refuses to compare it
("integer out of range") and SQLite's driver cannot bind it, so the query itself fails. Bounding
the number where the URL is parsed makes every such address a plain 404, on every route at once.
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, Map

# The largest value of an ``Integer`` column on PostgreSQL (SQLite's are wider): every id fits.
DATABASE_INT_MAX = 2**31 - 1
# Far more pages than any list here has; keeps ``(page - 1) * per_page`` inside the range too.
PAGE_MAX = 100_000


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` matching only 0 to ``DATABASE_INT_MAX``: a larger number matches no route."""

    def __init__(self, map: Map, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", DATABASE_INT_MAX)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]


def register_url_converters(app: Flask) -> None:
    """Replace the built-in ``int`` converter; must run before any blueprint is registered."""
    app.url_map.converters["int"] = BoundedIntConverter


def page_number(name: str = "page") -> int:
    """The 1-based page asked for in the query string; 404 for anything else (text, 0, negative,
    a number of 40 digits), as for a page that does not exist."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return 1
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(PAGE_MAX)):
        abort(404)
    number = int(raw)
    if not 1 <= number <= PAGE_MAX:
        abort(404)
    return number
