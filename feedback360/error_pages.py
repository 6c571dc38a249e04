"""Error pages in the NHS style: a clear heading, what happened, what to do next; no traceback."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from . import audit_requests

log = logging.getLogger(__name__)

PAGES: dict[int, tuple[str, str]] = {
    400: ("There is a problem with your request",
          "Something in what was sent could not be used. Go back, check what you entered and "
          "try again."),
    403: ("You do not have permission to see this page",
          "Your account cannot open this page. If you think it should, contact your programme "
          "lead."),
    404: ("Page not found",
          "If you typed the web address, check it is correct. If you pasted the web address, "
          "check you copied the entire address."),
    405: ("This page cannot be used that way",
          "The page does not accept that kind of request. Go back and use the page's own buttons "
          "and links."),
    409: ("This has already been done",
          "The change you asked for conflicts with the current state. Reload the page to see "
          "where things stand."),
    410: ("This link is no longer available",
          "The link has expired or has been withdrawn. If you still need it, ask the person who "
          "sent it to you for a new one."),
    413: ("What you sent is too large",
          "The request was larger than this service accepts. Nothing was saved from it; anything "
          "you saved earlier is still there. Shorten what you entered and try again."),
    429: ("Too many attempts",
          "There have been too many attempts in a short time. Wait a few minutes, then try "
          "again."),
    500: ("Sorry, there is a problem with the service",
          "Try again later. Nothing you saved before this happened has been lost."),
    503: ("The service is temporarily unable to save changes",
          "Nothing from this request was saved; anything you saved earlier is still there. "
          "Try again later. You can still view pages while this is being fixed."),
}

# SQLite's messages for a database it can read but not write: the file (or its
# directory) made read-only, or the disk full. A fault of the server, not the request.
STORAGE_FAULTS = ("attempt to write a readonly database", "database or disk is full")


def is_storage_fault(error: Exception) -> bool:
    return any(fault in str(getattr(error, "orig", error)) for fault in STORAGE_FAULTS)


def render_error(code: int, detail: str | None = None):  # type: ignore[no-untyped-def]
    title, advice = PAGES.get(code, PAGES[500] if code >= 500 else PAGES[400])
    response = render_template("errors/error.html", code=code, title=title, advice=advice,
                               detail=detail)
    return response, code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError):  # type: ignore[no-untyped-def]
        audit_requests.csrf_failed()
        return render_error(400, "The form had expired or was sent from somewhere else, so it "
                                 "was not accepted. Go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        if code < 400:  # pragma: no cover - redirects raised as exceptions pass through
            return error
        audit_requests.access_refused(code)
        detail = error.description if code in (400, 409, 410) and \
            error.description != type(error).description else None
        response, status = render_error(code, detail)
        headers = {}
        if code == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[union-attr]
        if code == 429:
            headers["Retry-After"] = "60"
            limit = getattr(error, "limit", None)  # Flask-Limiter's RateLimitExceeded
            audit_requests.throttled("address", **({"limit": str(limit.limit)} if limit else {}))
        return response, status, headers

    from .sealing import SealBroken

    @app.errorhandler(SealBroken)
    def seal_broken(error: SealBroken):  # type: ignore[no-untyped-def]
        # Sealed answers that no configured key opens: a key removed from
        # SECRET_KEY_FALLBACKS too soon, or a row altered in the database.
        log.error("Sealed answers would not open on %s %s", request.method, request.endpoint)
        from .extensions import db

        db.session.rollback()
        return render_template(
            "errors/error.html", code=409, title="Saved answers could not be read",
            detail=error.message,
            advice="Nothing has been changed. Tell the person who runs this service; if the "
                   "server's secret key was changed, they can restore the previous key in "
                   "SECRET_KEY_FALLBACKS."), 409

    from sqlalchemy.exc import DataError

    @app.errorhandler(DataError)
    def data_refused(error: DataError):  # type: ignore[no-untyped-def]
        # The database refused a value (SQLSTATE class 22: a NUL in text on PostgreSQL, a
        # number out of range) that no check before it caught: the request was at fault, and
        # must get a 4xx, not a 500. Logged, because a check is missing.
        log.warning("The database refused a value on %s %s: %s", request.method,
                    request.endpoint, type(error.orig).__name__)
        from .extensions import db

        db.session.rollback()
        return render_error(400)

    from sqlalchemy.exc import OperationalError

    @app.errorhandler(OperationalError)
    def storage_fault(error: OperationalError):  # type: ignore[no-untyped-def]
        from . import reconnect
        from .extensions import db

        rerun = reconnect.rerun_request(error, db.session)
        if rerun is not None:
            return rerun
        # Rolled back first, so nothing of the request is left half-written.
        db.session.rollback()
        if not is_storage_fault(error):
            return unexpected_error(error)
        log.error("The database refused a write on %s %s: %s", request.method,
                  request.endpoint, error.orig)
        response, status = render_error(503)
        return response, status, {"Retry-After": "300"}

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):  # type: ignore[no-untyped-def]
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return http_error(error)
        # The endpoint, not the path: a path may carry a survey token.
        log.exception("Unhandled error on %s %s", request.method, request.endpoint,
                      exc_info=error)
        from .extensions import db

        db.session.rollback()
        return render_error(InternalServerError.code)
