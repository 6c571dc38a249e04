"""What needs a programme lead's attention, for the admin home: each with a count and a page.

Counts only, as on the launch progress page: how many responses a cycle has is what its
trainee is told too, never a score or who answered (DESIGN.md, Anonymity rule 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import url_for

from ..extensions import db
from ..models import CohortLaunch, CohortLaunchCycle, FeedbackCycle, User
from . import coaching, cycles, lead_scope, nominee_approval, opportunities

CLOSING_SOON = timedelta(days=7)


@dataclass(frozen=True)
class Attention:
    key: str  # a stable id for the page and tests
    count: int
    text: str  # what the count counts, to follow it: "trainees have no coach"
    link_text: str
    href: str


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def for_programme_leads(viewer: User) -> list[Attention]:
    """Everything needing ``viewer``'s attention now, most urgent first; empty when nothing does.
    A lead limited to some programmes is told only of their trainees (``lead_scope``)."""
    items: list[Attention] = []
    visible = lead_scope.user_filter(viewer)
    open_cycles = db.session.scalars(
        db.select(FeedbackCycle).join(User, User.id == FeedbackCycle.trainee_id)
        .where(FeedbackCycle.status.in_(("draft", "open")), User.active, visible)).all()
    launches = dict(db.session.execute(
        db.select(CohortLaunchCycle.cycle_id, CohortLaunch)
        .join(CohortLaunch, CohortLaunch.id == CohortLaunchCycle.launch_id)
        .where(CohortLaunchCycle.cycle_id.in_([c.id for c in open_cycles]))).all()) \
        if open_cycles else {}
    soon = cycles.today() + CLOSING_SOON
    short = [c for c in open_cycles if c.status == "open" and c.closes_on <= soon
             and not _enough(cycles.response_progress(c))]
    items += _by_launch("closing-soon", short, launches,
                        lambda n: (f"{_plural(n, 'cycle closes', 'cycles close')} within "
                                   f"{CLOSING_SOON.days} days without enough responses"))
    waiting = nominee_approval.waiting_cycle_ids(open_cycles)
    items += _by_launch("nominees-waiting", [c for c in open_cycles if c.id in waiting],
                        launches,
                        lambda n: (f"{_plural(n, 'list', 'lists')} of nominated colleagues "
                                   f"{_plural(n, 'is', 'are')} waiting for a coach's approval"))
    uncoached = db.session.scalar(db.select(db.func.count()).select_from(User).where(
        User.role == "trainee", User.active, ~coaching.has_active_coach(), visible))
    if uncoached:
        items.append(Attention(
            "no-coach", uncoached,
            f"{_plural(uncoached, 'trainee has', 'trainees have')} no coach, so nobody could "
            "release their reports", "See the trainees without a coach",
            url_for("admin.users", needs="coach")))
    invited = db.session.scalar(db.select(db.func.count()).select_from(User).where(
        User.active, User.password_hash.is_(None), visible))
    if invited:
        items.append(Attention(
            "not-activated", invited,
            f"{_plural(invited, 'account has', 'accounts have')} never been activated",
            "See the accounts not activated", url_for("admin.users", needs="activation")))
    proposed = opportunities.awaiting_review()
    if proposed:
        items.append(Attention(
            "opportunities-proposed", proposed,
            f"leadership {_plural(proposed, 'opportunity', 'opportunities')} proposed by "
            f"trainees {_plural(proposed, 'is', 'are')} waiting for review",
            "Review the proposals", url_for("opportunity_admin.catalogue", status="proposed")))
    return items


def _enough(progress: cycles.Progress) -> bool:
    return progress.count >= progress.required


def _by_launch(key: str, selected: list[FeedbackCycle], launches: dict[int, CohortLaunch],
               describe) -> list[Attention]:  # type: ignore[no-untyped-def]
    """One item per launch the cycles belong to (its progress page), one per other trainee."""
    groups: dict[str, tuple[int, str, str]] = {}
    for cycle in selected:
        launch = launches.get(cycle.id)
        if launch is not None:
            group = f"launch:{launch.id}"
            link = (f"{launch.title} ({launch.cohort.name})",
                    url_for("cohort.progress", launch_id=launch.id))
        else:
            group = f"trainee:{cycle.trainee_id}"
            link = (cycle.trainee.name, url_for("admin.user", user_id=cycle.trainee_id))
        count = groups[group][0] + 1 if group in groups else 1
        groups[group] = (count, *link)
    return [Attention(key, count, describe(count), text, href)
            for count, text, href in groups.values()]
