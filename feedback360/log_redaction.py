"""Survey links never reach a log: ``/s/<token>`` is written as ``/s/[redacted]``.

A rater's link is their key (``views/survey.py``); an access log holding it would let anyone who
reads the log answer in their name.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

_TOKEN_IN_PATH = re.compile(r"/s/[^\s\"'?#]+")
# Loggers that print request paths: werkzeug's dev server, gunicorn's access and error logs, and
# the app's own unhandled-error log. A logger's filters do not apply to its children's records,
# so each is named.
TOKEN_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "feedback360.error_pages")


class TokenLogFilter(logging.Filter):
    """Rewrites ``/s/<token>`` to ``/s/[redacted]`` in a record's final message.

    Matching anywhere (not only at the start of a path) errs towards redacting too much, which
    costs nothing, rather than too little, which would leak a working link.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: logging reports it, not us
            return True
        redacted = _TOKEN_IN_PATH.sub("/s/[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_token_log_filter(app: Flask) -> None:
    """Called from ``create_app``; idempotent, as tests create many apps in one process."""
    for name in TOKEN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenLogFilter) for f in logger.filters):
            logger.addFilter(TokenLogFilter())
    app.extensions["survey_token_log_filter"] = True
