"""A query that meets a connection the database server dropped is run again on a fresh one.

After PostgreSQL restarts, every pooled connection is dead, and with the pool's pre-ping off
(a round trip on every checkout) nothing finds out until a statement fails. SQLAlchemy then
invalidates the whole pool, so later checkouts connect afresh; but the request that met the
dead connection would still fail. When that statement was the first of its transaction, with
nothing waiting to be flushed, nothing of the request has been written in it: the transaction
is rolled back and the statement run once more on a new connection. Anything later in a
transaction is not retried, since what the transaction already wrote died with the connection.

While the server is still coming back, a new connection is refused; SQLAlchemy would not count
that as a disconnect (there was no connection yet), so ``handle_error`` marks it as one and
the first statement is tried again a few times, waiting a little longer each time (about a
second and a half in all: a fast restart takes a fraction of one), before the request fails.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session

log = logging.getLogger(__name__)

# Seconds waited before each further try of a first statement whose connection failed.
RETRY_DELAYS = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8)


def _refused_connection_is_a_disconnect(context: ExceptionContext) -> None:
    if context.connection is None and context.dialect.name == "postgresql" \
            and not context.is_pre_ping:
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


def install() -> None:
    """Listen on every ORM session (idempotent: ``create_app`` may run many times)."""
    if not event.contains(Session, "do_orm_execute", _retry_first_statement_on_disconnect):
        event.listen(Session, "do_orm_execute", _retry_first_statement_on_disconnect)
        event.listen(Engine, "handle_error", _refused_connection_is_a_disconnect)
