"""A closed cycle's aggregates, computed once and stored (issue 4: "a closed cycle never changes").

Dashboards and cohort reports read ``CycleSummary`` rows; only closing a cycle (or a summary that
is missing, e.g. for a cycle closed before summaries existed) scans its answers.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
from flask import current_app

from ..extensions import db
from ..models import Answer, Comment, CycleScore, CycleSummary, FeedbackCycle, Response
from ..scoring import ALL, LEVELS, SELF, AnonymityRules, CycleReport, score_cycle
from ..scoring.comments import comment_labels
from ..scoring.disclosed import disclosed
from .instrument_cache import instrument_for

ANSWER_COLUMNS = ["response", "group", "is_self", "item", "score"]


def rules_from_config() -> AnonymityRules:
    return AnonymityRules.from_config(current_app.config)


def answers_frame(cycle_id: int) -> pd.DataFrame:
    """The cycle's answers as scoring's long frame: one row per (response, item).

    Responses are labelled and ordered by what they hold, not by their random ids or the order
    the database returns them in: floating-point sums depend on order, and the report must be a
    function of the answers alone (the same whether they were written at submit or, sealed
    until then, at close in shuffled order).
    """
    rows = db.session.execute(
        db.select(Response.id, Response.rater_group, Response.is_self, Answer.item_key,
                  Answer.score)
        .join(Answer, Answer.response_id == Response.id)
        .where(Response.cycle_id == cycle_id)).all()
    answered: dict[object, list[tuple[str, int]]] = defaultdict(list)
    who: dict[object, tuple[bool, str]] = {}
    for response, group, is_self, item, score in rows:
        answered[response].append((item, -1 if score is None else score))
        who[response] = (bool(is_self), group or "")
    ordered = sorted(answered, key=lambda r: (who[r], sorted(answered[r])))
    frame = pd.DataFrame(
        [(f"r{n}", who[r][1] or None, who[r][0], item,
          float(score) if score >= 0 else float("nan"))
         for n, r in enumerate(ordered) for item, score in sorted(answered[r])],
        columns=ANSWER_COLUMNS)
    return frame.astype({"score": "float64", "is_self": "bool"})


def compute_report(cycle: FeedbackCycle) -> CycleReport:
    return score_cycle(answers_frame(cycle.id), instrument_for(cycle), rules_from_config())


def store_summary(cycle: FeedbackCycle) -> CycleSummary:
    """Compute and keep the summary of a closed cycle (flushes; the caller commits)."""
    report = compute_report(cycle)
    summary = cycle.summary or CycleSummary(cycle_id=cycle.id)
    summary.report = report.to_dict()
    summary.enough_responses = report.enough
    summary.response_count = report.validity.responses
    cycle.summary = summary
    db.session.execute(db.delete(CycleScore).where(CycleScore.cycle_id == cycle.id))
    db.session.flush()
    scores = score_rows(cycle.id, report)
    if scores:
        db.session.execute(db.insert(CycleScore), scores)
    return summary


def score_rows(cycle_id: int, report: CycleReport) -> list[dict[str, object]]:
    """The report's domain, element and item rows as ``CycleScore`` rows: self and all raters,
    as the report shows them (a suppressed or missing cell is None)."""
    rows = []
    for level in LEVELS:
        for row in report.table(level):
            own, others = row.cells.get(SELF), row.cells.get(ALL)
            rows.append({
                "cycle_id": cycle_id, "level": level, "key": row.key,
                "self_score": own.mean if own is not None else None,
                "others_mean": others.mean if others is not None else None,
                "others_n": others.n if others is not None and others.shown else 0})
    return rows


def report_for(cycle: FeedbackCycle) -> CycleReport:
    """The stored report of a closed or released cycle; computed and stored if missing."""
    if cycle.status not in ("closed", "released"):
        raise ValueError("no scores exist while a cycle is open (DESIGN.md, rule 3)")
    summary = cycle.summary or store_summary(cycle)
    return CycleReport.from_dict(summary.report)


# In a summary's report once its cycle's answers and comments are purged: the comments it shows.
KEPT_COMMENTS = "kept_comments"


@dataclass(frozen=True)
class ShownComment:
    prompt_key: str
    text: str
    group_label: str | None
    hidden: bool
    hidden_reason: str | None
    handle: str  # the comment's own random handle: never the response id, which pairs comments


def comments_for(cycle: FeedbackCycle, report: CycleReport, *,
                 include_hidden: bool) -> list[ShownComment]:
    """Raters' comments, verbatim, in an order that says nothing about who wrote them.

    A comment is labelled as its rater's scores are shown, or not at all
    (:func:`~feedback360.scoring.comments.comment_labels`): no label, and no absence of one,
    narrows it to fewer than k colleagues. Labels are worked out from the stored report, so a
    summary stored by older code is read as it is; its columns already say which groups were
    shown, as they do now. The order is a shuffle, seeded with the cycle and the app's key, of
    the comments sorted by their random handles: stable between page loads, unrelated to when or
    by whom the comments were written, and no two comments of one rater kept together.
    """
    kept = cycle.summary.report.get(KEPT_COMMENTS) if cycle.summary is not None else None
    if kept is not None:  # the answers are purged (services.retention); these are what was shown
        shown = [ShownComment(hidden=False, hidden_reason=None, **comment) for comment in kept]
    else:
        shown = _stored_comments(cycle, report, include_hidden=include_hidden)
    seed = hashlib.sha256(f"{current_app.config['SECRET_KEY']}:{cycle.id}".encode()).hexdigest()
    random.Random(seed).shuffle(shown)  # noqa: S311 - ordering, not security
    return shown


def _stored_comments(cycle: FeedbackCycle, report: CycleReport, *,
                     include_hidden: bool) -> list[ShownComment]:
    """The cycle's comments as ``comments_for`` shows them, sorted by handle, not yet shuffled."""
    rows = db.session.execute(
        db.select(Comment, Response.rater_group)
        .join(Response, Response.id == Comment.response_id)
        .where(Response.cycle_id == cycle.id, ~Response.is_self)
        .order_by(Comment.handle)).all()
    responses = dict(db.session.execute(
        db.select(Response.rater_group, db.func.count())
        .where(Response.cycle_id == cycle.id, ~Response.is_self)
        .group_by(Response.rater_group)).all())
    labels = comment_labels(report, responses)
    return [ShownComment(
        prompt_key=comment.prompt_key, text=comment.text, group_label=labels.get(group),
        hidden=comment.hidden_at is not None, hidden_reason=comment.hidden_reason,
        handle=comment.handle)
        for comment, group in rows if include_hidden or comment.hidden_at is None]


def comments_to_keep(cycle: FeedbackCycle) -> list[dict[str, object]]:
    """What the released report shows of the comments, for its summary to keep once the answers
    are purged: the visible ones, labelled as shown, with nothing that pairs two of them."""
    # The words the report page labels them with (scoring.disclosed), as the page reads it.
    report = disclosed(report_for(cycle), instrument_for(cycle))
    if not report.enough:
        return []
    return [{"prompt_key": c.prompt_key, "text": c.text, "group_label": c.group_label,
             "handle": c.handle}
            for c in _stored_comments(cycle, report, include_hidden=False)]


def previous_report(cycle: FeedbackCycle, *, released_only: bool
                    ) -> tuple[FeedbackCycle, CycleReport] | None:
    """The trainee's latest earlier cycle with a report, for "change since last time".

    The trainee only ever sees released reports, so for them ``released_only`` is set.
    """
    statuses = ("released",) if released_only else ("closed", "released")
    earlier = db.session.scalars(
        db.select(FeedbackCycle).where(
            FeedbackCycle.trainee_id == cycle.trainee_id, FeedbackCycle.id != cycle.id,
            FeedbackCycle.status.in_(statuses),
            FeedbackCycle.closes_on < cycle.closes_on)
        .order_by(FeedbackCycle.closes_on.desc()).limit(1)).first()
    if earlier is None:
        return None
    return earlier, report_for(earlier)
