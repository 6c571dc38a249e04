"""Back-dating the demo's audit events: the trail is append-only (the database refuses an UPDATE),
so an event the demo dates in the past must get its time before it is inserted, not after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event

from ..extensions import db
from ..models import AuditEvent


@contextmanager
def held_audit_events() -> Iterator[list[AuditEvent]]:
    """Keep audit events made inside the block out of every flush; the caller dates them and
    adds them back with ``release``."""
    held: list[AuditEvent] = []
    session = db.session()

    def hold(flushing: Any, _context: Any, _instances: Any) -> None:
        for obj in list(flushing.new):
            if isinstance(obj, AuditEvent):
                flushing.expunge(obj)
                held.append(obj)

    event.listen(session, "before_flush", hold)
    try:
        yield held
    finally:
        event.remove(session, "before_flush", hold)
        held.extend(obj for obj in session.new if isinstance(obj, AuditEvent))


def release(held: list[AuditEvent], target: str, when: dict[str, datetime]) -> None:
    """Date the events of ``target`` whose action ``when`` names, and add every held event back."""
    for held_event in held:
        if held_event.target == target and held_event.action in when:
            held_event.created_at = when[held_event.action]
    db.session.add_all(held)


def with_dated_events(build: Callable[..., tuple[str, dict[str, datetime]]], *args: Any) -> None:
    """``build(*args)`` (returning a target and when each of its actions happened), its audit
    events inserted with those times."""
    with held_audit_events() as held:
        target, when = build(*args)
    release(held, target, when)
