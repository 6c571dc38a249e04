"""A query that meets a connection the database server dropped is run again on a fresh one.

After PostgreSQL restarts, every pooled connection is dead, and with the pool's pre-ping off
(a round trip on every checkout) nothing finds out until a statement fails. SQLAlchemy then
invalidates the whole pool, so later checkouts connect afresh; but the request that met the
dead connection would still fail. When that statement was the first of its transaction, with
nothing waiting to be flushed, nothing of the request has been written in it: the transaction
is rolled back and the statement run once more on a new connection. Anything later in a
transaction is not retried, since what the transaction already wrote died with the connection.

A request caught part-way (a later statement, or the flush before its commit, meets the dropped
connection) is run again whole, once, by the error handler (``rerun_request``), but only if no
COMMIT had been sent to the server: requests commit once, at the end (DESIGN.md), so before that
nothing of it was written and the transaction died with the connection. A request whose COMMIT
was sent is not run again, since the commit may have reached the server, unless its view is
marked ``idempotent`` (it writes the same whether it runs once or twice: a survey page's draft
saved whole).

A request whose work is done can still meet the restart when its session is closed at the end:
the ROLLBACK that ends a read-only transaction fails on a connection the server has since
terminated. ``close_session`` lets that go (the connection is discarded, not returned to the
pool), so a finished response is sent instead of a 500.

While the server is still coming back, a new connection is refused; SQLAlchemy would not count
that as a disconnect (there was no connection yet), so ``handle_error`` marks it as one and
the first statement is tried again a few times, waiting a little longer each time (about a
second and a half in all: a fast restart takes a fraction of one), before the request fails.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session

log = logging.getLogger(__name__)

# Seconds waited before each further try of a first statement whose connection failed.
RETRY_DELAYS = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8)


# admin_shutdown, crash_shutdown, cannot_connect_now: the server is going down or not yet up.
SERVER_SHUTTING_DOWN = frozenset({"57P01", "57P02", "57P03"})


def _refused_connection_is_a_disconnect(context: ExceptionContext) -> None:
    if context.dialect.name != "postgresql" or context.is_pre_ping:
        return
    if context.connection is None or (
            getattr(context.original_exception, "sqlstate", None) in SERVER_SHUTTING_DOWN):
        context.is_disconnect = True


def _retry_first_statement_on_disconnect(state: ORMExecuteState) -> Any:
    session = state.session
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        return None  # not the first statement, or a flush goes first: let it run as it is
    for delay in RETRY_DELAYS:
        try:
            return state.invoke_statement()
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("A pooled database connection had been dropped by the server, or a "
                        "new one refused; running the query again on a new connection")
            session.rollback()
            time.sleep(delay)
    return state.invoke_statement()


# Kept in the WSGI environ: per request, even where an app context outlives several requests.
COMMIT_SENT = "feedback360.commit_sent"
RERUN = "feedback360.rerun"


def _note_commit_sent(_connection: Any) -> None:
    if has_request_context():
        request.environ[COMMIT_SENT] = True


def idempotent(view: Any) -> Any:
    """Mark a view whose writes are the same however often it runs, so that a request whose
    COMMIT was cut off by a dropped connection may be run again too (module docstring)."""
    view.rerun_after_commit = True
    return view


def may_rerun(error: DBAPIError) -> bool:
    """Whether the current request may run again after ``error`` (module docstring)."""
    environ = request.environ
    if not error.connection_invalidated or environ.get(RERUN):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return not environ.get(COMMIT_SENT) or getattr(view, "rerun_after_commit", False)


def rerun_request(error: DBAPIError, session: Session) -> Any | None:
    """The response of the current request run again from its ``before_request`` hooks, when
    ``may_rerun``; None when it may not (the caller shows its error page). At most once."""
    if not may_rerun(error):
        return None
    request.environ[RERUN] = True
    session.rollback()
    log.warning("A request met a database connection the server had dropped before it had "
                "written anything; running the request again on a new connection")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    response = app.preprocess_request()
    return app.dispatch_request() if response is None else response


def close_session(session: Session) -> None:
    """End the request's session; a connection the server dropped since its last statement is
    discarded rather than failing the finished request (module docstring)."""
    try:
        session.close()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        log.warning("The database server dropped a connection after the request's last "
                    "statement; discarding it")
        session.invalidate()  # a plain Session: the caller unwraps a scoped one


def install() -> None:
    """Listen on every ORM session (idempotent: ``create_app`` may run many times)."""
    if not event.contains(Session, "do_orm_execute", _retry_first_statement_on_disconnect):
        event.listen(Session, "do_orm_execute", _retry_first_statement_on_disconnect)
        event.listen(Engine, "commit", _note_commit_sent)
        event.listen(Engine, "handle_error", _refused_connection_is_a_disconnect)
