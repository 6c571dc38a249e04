"""No link that carries a token reaches a log: the token is written as ``[redacted]``.

A survey link is a rater's key (``views/survey.py``); a reset or activation link sets an
account's password. An access or error log holding one would let anyone who reads the log act
in that person's name. Two rules, so that a token route added later is covered without
touching this module:

* the path of every route with a ``<token>`` argument, read from the app's URL map: whatever
  follows the route's prefix is redacted, a truncated or tampered token too;
* anything shaped like a token the app signs (itsdangerous: payload, timestamp and signature
  joined by dots), wherever it stands: a query string, an encoded ``next=``, a ``Referer``, the
  message of an exception.

Both apply to every log record the process makes (the log record factory), so to werkzeug's and
gunicorn's access logs, gunicorn's error log, Flask's and the app's own loggers, and to the
traceback of a logged exception, without naming loggers one by one (a logger's filters miss its
children's records). Matching anywhere errs towards redacting too much, which costs nothing,
rather than too little, which would leak a working link.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask

REDACTED = "[redacted]"
_SEGMENT = r"[^\s\"'?#/<>]+"
# itsdangerous's URLSafeTimedSerializer: base64url payload (a leading dot when compressed), a
# 4-5 byte timestamp and an HMAC of at least 20 bytes (27 characters).
_SIGNED_TOKEN = re.compile(
    r"\.?[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{5,8}\.[A-Za-z0-9_-]{27,}(?![\w-])")
# The token routes every app in this process has; patterns, so each is compiled once.
_token_routes: dict[str, re.Pattern[str]] = {}


def route_pattern(rule: str) -> re.Pattern[str] | None:
    """A URL rule with a ``<token>`` argument as a pattern whose ``token`` group is the token."""
    parts = re.split(r"(<[^>]+>)", rule)
    if not any(re.fullmatch(r"<(?:\w+:)?token>", part) for part in parts):
        return None
    pattern = "".join(
        f"(?P<token>{_SEGMENT})" if re.fullmatch(r"<(?:\w+:)?token>", part)
        else _SEGMENT if part.startswith("<")
        else re.escape(part)
        for part in parts)
    return re.compile(pattern)


def _without_token(match: re.Match[str]) -> str:
    start, end = match.span("token")
    return f"{match.string[match.start():start]}{REDACTED}{match.string[end:match.end()]}"


def redact(text: str) -> str:
    for pattern in list(_token_routes.values()):
        text = pattern.sub(_without_token, text)
    return _SIGNED_TOKEN.sub(REDACTED, text)


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite ``record``'s message (and exception text) with every token redacted."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed record: logging reports it, not us
        return
    redacted = redact(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info and record.exc_info[0] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        redacted = redact(text)
        if redacted != text:
            # Handlers print exc_text when there is no exc_info left to format again.
            record.exc_text, record.exc_info = redacted, None


def install_redacting_record_factory() -> None:
    """Idempotent: tests create many apps in one process; gunicorn.conf.py calls it too."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_tokens", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    factory.redacts_tokens = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def install_token_log_filter(app: Flask) -> None:
    """Called from ``create_app``: learns the app's token routes, then redacts every record."""
    for rule in app.url_map.iter_rules():
        if rule.rule not in _token_routes and (pattern := route_pattern(rule.rule)):
            _token_routes[rule.rule] = pattern
    install_redacting_record_factory()
    app.extensions["token_log_redaction"] = sorted(_token_routes)

