"""The development dashboard of a closed or released cycle (issue 4, point 4).

``GET /cycles/<id>/report`` (``reports.dashboard``). Who may see it is decided here, on the server:

* the trainee who owns the cycle, once their coach has released it. While the cycle is closed they
  get a page saying the report awaits review with their coach, without a single score (DESIGN.md,
  Anonymity rule 3); a draft or open cycle has no report at all (404);
* a coach assigned to the trainee (``CoachAssignment``), once the cycle is closed or released;
* nobody else. An admin gets 403: programme leads see cohort aggregates only. Another trainee,
  and a coach who is not assigned to this trainee, get 404, as on the trainee's own pages:
  someone else's cycle looks like no cycle at all, so trying ids tells them nothing.

The page's data comes from :func:`dashboard_context`, which the coach's pages may reuse.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user

from .. import audit
from ..authz import role_required
from ..charts import Chart, dashboard_charts, element_table
from ..extensions import db
from ..instruments import Instrument
from ..models import FeedbackCycle
from ..scoring import Change, CycleReport, compare_cycles
from ..scoring.disclosed import disclosed, senior_told
from ..services import coaching
from ..services.instrument_cache import instrument_for
from ..services.summaries import ShownComment, comments_for, previous_report, report_for

bp = Blueprint("reports", __name__)

VIEWERS = ("trainee", "coach")


@bp.get("/cycles/<int:cycle_id>/report")
@role_required("trainee", "coach")
def dashboard(cycle_id: int):  # type: ignore[no-untyped-def]
    cycle = db.get_or_404(FeedbackCycle, cycle_id)
    viewer = viewer_of(cycle)
    if viewer == "trainee" and cycle.status != "released":
        return render_template("reports/awaiting.html", cycle=cycle,
                               instrument=instrument_for(cycle))
    context = dashboard_context(cycle, viewer)
    if viewer == "coach":  # a trainee reading their own report is not audited; staff are
        audit.record(current_user, "report.viewed", f"cycle:{cycle.id}")
    if db.session.new or db.session.dirty:
        # the audit event, and a summary computed for a cycle closed before summaries existed
        db.session.commit()
    return render_template("reports/dashboard.html", **context)


def viewer_of(cycle: FeedbackCycle) -> str:
    """"trainee" or "coach" for the signed-in user, or abort with 404/403 (see the module)."""
    if current_user.role == "trainee":
        if cycle.trainee_id != current_user.id or cycle.status not in ("closed", "released"):
            abort(404)
        return "trainee"
    if current_user.role == "coach":
        if cycle.status not in ("closed", "released") or not coaching.is_coach_of(
                current_user, cycle.trainee_id):
            abort(404)
        return "coach"
    abort(403)



def dashboard_context(cycle: FeedbackCycle, viewer: str) -> dict[str, Any]:
    """Everything ``reports/dashboard.html`` needs, for a closed or released cycle.

    ``viewer`` is "trainee" or "coach" and must already be authorised. The coach also sees
    hidden comments (marked, with the reason) and compares with the trainee's previous closed
    or released cycle; the trainee sees no hidden comment and only released cycles. While there
    are not enough responses for colleagues' scores, nothing but the counts is given: no
    charts, no comments.
    """
    if viewer not in VIEWERS:
        raise ValueError(f"viewer must be one of {VIEWERS}, not {viewer!r}")
    coach = viewer == "coach"
    instrument = instrument_for(cycle)
    # Its words as they may be shown (scoring.disclosed): stored summaries are read as they are.
    report = disclosed(report_for(cycle), instrument)
    comments: list[ShownComment] = []
    change, previous_cycle = None, None
    if report.enough:
        comments = comments_for(cycle, report, include_hidden=coach)
        previous = previous_report(cycle, released_only=not coach)
        if previous is not None:
            previous_cycle = previous[0]
            if previous[1].enough:
                change = compare_cycles(previous[1], report)
    prompts = {prompt.key: prompt.prompt for prompt in instrument.comments}
    sections = [(prompts[key], [c for c in comments if c.prompt_key == key]) for key in prompts]
    unknown = [c for c in comments if c.prompt_key not in prompts]
    if unknown:
        sections.append(("Other comments", unknown))
    return {
        "cycle": cycle, "trainee": cycle.trainee, "instrument": instrument, "report": report,
        "comments": comments, "comment_sections": [s for s in sections if s[1]],
        "change": change, "previous_cycle": previous_cycle, "viewer": viewer,
        "charts": charts_for(cycle, report, instrument, change, previous_cycle),
        "element_table": element_table(report) if report.enough else None,
        "rater_columns": [c for c in report.columns if c.kind != "self"],
        "self_column": report.column("self"),
        "k": report.rules.min_group,
        "senior_told": senior_told(report, instrument),
    }


# A closed cycle's summary never changes, so neither do its charts: building the figures is the
# dearest part of the page, and is done once per process for each (cycle, previous cycle) pair.
CHARTS_KEPT = 256
_charts: OrderedDict[tuple[Any, ...], list[Chart]] = OrderedDict()
_charts_lock = threading.Lock()


def _stamp(cycle: FeedbackCycle | None) -> tuple[Any, ...]:
    if cycle is None:
        return (None, None)
    return (cycle.id, cycle.summary.computed_at if cycle.summary is not None else None)


def charts_for(cycle: FeedbackCycle, report: CycleReport, instrument: Instrument,
               change: list[Change] | None, previous_cycle: FeedbackCycle | None) -> list[Chart]:
    """``dashboard_charts`` for this cycle, compared with ``previous_cycle`` (if any)."""
    key = (current_app.config["SQLALCHEMY_DATABASE_URI"], *_stamp(cycle), *_stamp(previous_cycle),
           change is not None)
    with _charts_lock:
        if key in _charts:
            _charts.move_to_end(key)
            return _charts[key]
    made = dashboard_charts(report, instrument, change)
    with _charts_lock:
        _charts[key] = made
        while len(_charts) > CHARTS_KEPT:
            _charts.popitem(last=False)
    return made
