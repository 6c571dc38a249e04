"""Sealed responses of open cycles: counted in the app while the cycle is open, written out as
anonymous responses when it closes.

Nothing about a sealed row is readable in the database, so whatever needs to know about the
answers of an open cycle (how many count under the validity rule, per group) opens the rows
here, in the app, and keeps nothing it learnt. Storing a clear "counts" flag beside the blob
would let a copy pair it with the one low-rated response once the cycle has closed.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import delete, insert, select

from .. import sealing
from ..extensions import db
from ..models import Answer, Comment, Response, SealedResponse
from ..text_input import storable
from .surveys import NOT_OBSERVED


def _opened(cycle_ids: Iterable[int] | Any) -> list[tuple[int, dict[str, Any]]]:
    """(cycle id, payload) of every sealed row of these cycles (a list or a subquery)."""
    rows = db.session.execute(select(SealedResponse.cycle_id, SealedResponse.sealed)
                              .where(SealedResponse.cycle_id.in_(cycle_ids)))
    return [(cycle_id, sealing.unseal(blob, purpose=sealing.SUBMITTED, owner=cycle_id))
            for cycle_id, blob in rows]


def _rated(payload: dict[str, Any]) -> int:
    return sum(1 for score in payload["answers"].values() if score != NOT_OBSERVED)


def counted_by_group(cycle_ids: Iterable[int] | Any,
                     needed: Callable[[int], float]) -> dict[int, dict[str, int]]:
    """Sealed responses that count under the rule (``needed(cycle_id)`` items rated), per cycle
    and rater group: what ``cycles.response_counts`` counts of a closed cycle's responses."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for cycle_id, payload in _opened(cycle_ids):
        if _rated(payload) >= needed(cycle_id):
            group = payload["g"]
            counts[cycle_id][group] = counts[cycle_id].get(group, 0) + 1
    return counts


def write_out(cycle_id: int) -> int:
    """Open all of the cycle's sealed rows and write them as ``Response``/``Answer``/``Comment``
    rows in shuffled order with fresh random ids, then delete the sealed rows; flushes.

    The caller holds the cycle locked and commits once, so the rows appear all together (one
    transaction, one ``xmin``, one WAL commit) in an order unrelated to who submitted when, or
    not at all. Returns how many responses were written.
    """
    payloads = [payload for _, payload in _opened([cycle_id])]
    secrets.SystemRandom().shuffle(payloads)
    responses, answers, comments = [], [], []
    for payload in payloads:
        response_id = uuid.uuid4()
        responses.append({"id": response_id, "cycle_id": cycle_id,
                          "rater_group": payload["g"], "is_self": False})
        answers += [{"response_id": response_id, "item_key": key,
                     "score": None if score == NOT_OBSERVED else int(score)}
                    for key, score in payload["answers"].items()]
        comments += [{"response_id": response_id, "prompt_key": key, "text": storable(text)}
                     for key, text in payload["comments"].items()]
    # Core executemany on the tables, as submitting used to: one statement each.
    for table, rows in ((Response.__table__, responses), (Answer.__table__, answers),
                        (Comment.__table__, comments)):
        if rows:
            db.session.execute(insert(table), rows)
    db.session.execute(delete(SealedResponse).where(SealedResponse.cycle_id == cycle_id))
    return len(responses)
