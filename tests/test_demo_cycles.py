"""Demo cycles (issue 3, point 14): every state, believable answers, no mail, idempotent.

``seed-demo`` calls ``seed_demo_cycles`` (from ``demo/__init__.py``); to keep one seeding per
test this calls ``seed_demo`` and ``seed_demo_cycles`` directly.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from statistics import mean

from helpers import sealed_answers

from feedback360.demo import EARLIER_COHORT_NAME, seed_demo
from feedback360.demo.cycles import RATER_DOMAINS, seed_demo_cycles
from feedback360.extensions import db
from feedback360.models import (
    Answer,
    AuditEvent,
    Cohort,
    CohortLaunch,
    Comment,
    FeedbackCycle,
    Invitation,
    OutboxMessage,
    Response,
    SealedResponse,
    User,
)
from feedback360.services.cohort_reports import ReportFilters, cohort_report
from feedback360.services.cycles import response_progress, today
from feedback360.services.instrument_cache import instrument_for


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _seed() -> tuple[list[User], list[User]]:
    logins = seed_demo("demo passphrase words")
    users = {u.email: u for u in db.session.scalars(db.select(User))}
    trainees = [users[email] for role, email in logins if role == "trainee"]
    coaches = [users[email] for role, email in logins if role == "coach"]
    seed_demo_cycles(trainees, coaches)
    db.session.commit()
    return trainees, coaches


def _responses(cycle: FeedbackCycle, *, is_self: bool) -> list[Response]:
    return list(db.session.scalars(db.select(Response).where(
        Response.cycle_id == cycle.id, Response.is_self == is_self)))


def _self_done(cycle: FeedbackCycle) -> bool:
    return bool(_responses(cycle, is_self=True))


def test_demo_cycles(app):
    """One seeding (about two seconds) serves every check."""
    with app.app_context():
        trainees, coaches = _seed()
        check_every_state_is_seeded_and_consistent(trainees, coaches)
        check_answers_are_believable(trainees)
        check_the_earlier_intake_has_a_cohort_report()
        check_audit_events_are_dated_with_their_cycles()
        # Running it again adds nothing.
        models = (FeedbackCycle, Invitation, Response, Answer, Comment, SealedResponse,
                  OutboxMessage)
        before = [_count(m) for m in models]
        _seed()
        assert [_count(m) for m in models] == before


def check_audit_events_are_dated_with_their_cycles():
    """The trail is append-only, so the demo dates its events before inserting them."""
    for cycle in db.session.scalars(db.select(FeedbackCycle)):
        events = {e.action: e.created_at for e in db.session.scalars(
            db.select(AuditEvent).filter_by(target=f"cycle:{cycle.id}"))}
        assert events["cycle.created"] == cycle.created_at
        if cycle.closed_at is not None:
            assert events["cycle.closed"] == cycle.closed_at


def check_every_state_is_seeded_and_consistent(trainees: list[User], coaches: list[User]):
    cycles = list(db.session.scalars(db.select(FeedbackCycle).order_by(FeedbackCycle.id)))
    by_status = defaultdict(list)
    for cycle in cycles:
        by_status[cycle.status].append(cycle)
    assert set(by_status) == {"draft", "open", "closed", "released"}
    assert {c.trainee_id for c in cycles} == {t.id for t in trainees}

    drafts = by_status["draft"]
    assert any(_self_done(c) and 0 < len(c.invitations) < 10 for c in drafts), "a started draft"
    assert any(not _self_done(c) and not c.invitations for c in drafts), "an empty draft"

    opened = by_status["open"]
    progress = {c.id: response_progress(c) for c in opened}
    assert any(p.met for p in progress.values()), "an open cycle already meeting the rule"
    assert any(progress[c.id].count == 4 and len(c.invitations) == 12 for c in opened), \
        "4 of 12 answered"
    assert any(i.draft and i.status == "opened" for c in opened for i in c.invitations), \
        "a rater halfway through"
    assert any(i.status == "declined" for c in opened for i in c.invitations)

    finished = by_status["closed"] + by_status["released"]
    assert all(response_progress(c).met for c in finished)
    for cycle in by_status["released"]:
        assert cycle.released_by_id in {c.id for c in coaches}
        assert cycle.closed_at <= cycle.released_at <= datetime.now(UTC)
    history = defaultdict(list)
    for cycle in finished:
        history[cycle.trainee_id].append(cycle.closes_on)
    twice = [sorted(days) for days in history.values() if len(days) == 2]
    assert len(twice) >= 2 and all(150 <= (b - a).days <= 210 for a, b in twice), \
        "trainees with two closed cycles about six months apart"

    now = datetime.now(UTC)
    for cycle in cycles:
        instrument = instrument_for(cycle)
        assert cycle.created_at <= now
        responses = _responses(cycle, is_self=False)
        completed = [i for i in cycle.invitations if i.status == "completed"]
        # Responses per group match the completed invitations; nothing names who answered.
        # An open cycle's are sealed until it closes; a closed cycle keeps none sealed.
        sealed = sealed_answers(cycle.id)
        assert not (sealed and responses)
        assert Counter([r.rater_group for r in responses] + [p["g"] for p in sealed]) == \
            Counter(i.rater_group for i in completed)
        assert not sealed or cycle.status == "open"
        assert len(_responses(cycle, is_self=True)) <= 1
        assert {i.rater_email.split("@")[1] for i in cycle.invitations} <= set(RATER_DOMAINS)
        if cycle.status == "draft":
            assert cycle.opened_at is None and not responses
            assert all(i.status == "pending" for i in cycle.invitations)
            continue
        assert cycle.created_at <= cycle.opened_at <= now
        assert cycle.opens_on <= cycle.closes_on
        for invitation in completed:
            assert cycle.opens_on <= invitation.completed_on <= min(cycle.closes_on, today())
            assert invitation.draft is None
        if cycle.status == "open":
            assert cycle.closes_on > today() and cycle.closed_at is None
        else:
            assert cycle.closes_on < today() and cycle.opened_at < cycle.closed_at <= now
            assert all(i.draft is None for i in cycle.invitations)
        for response in responses + _responses(cycle, is_self=True):
            assert {a.item_key for a in response.answers} <= set(instrument.item_keys)
            assert all(a.score is None or 1 <= a.score <= 5 for a in response.answers)
            assert response.is_self or response.rater_group in instrument.group_keys

    assert {c.instrument_version.key for c in cycles} == {"clcf", "clcf-enhanced"}
    # Demo mail is never sent: every invitation's message is recorded as already sent.
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.status != "sent")) == 0
    assert _count(OutboxMessage) == sum(len(c.invitations) for c in cycles
                                        if c.status != "draft")


def check_the_earlier_intake_has_a_cohort_report():
    """Last year's intake: one launch, every cycle of it closed, a report with figures by
    specialty (its sites hidden: see below), and a trend with this year's intake."""
    cohort = db.session.scalar(db.select(Cohort).where(Cohort.name == EARLIER_COHORT_NAME))
    (launch,) = db.session.scalars(db.select(CohortLaunch).where(
        CohortLaunch.cohort_id == cohort.id))
    trainees = {u.id for u in db.session.scalars(db.select(User).where(
        User.cohort_id == cohort.id))}
    assert {c.trainee_id for c in launch.cycles} == trainees
    assert {c.status for c in launch.cycles} <= {"closed", "released"}
    assert {(c.title, c.closes_on) for c in launch.cycles} == {(launch.title, launch.closes_on)}
    report = cohort_report(ReportFilters(cohort.id, launch_id=launch.id))
    assert report.publishable and report.participation.scored == len(trainees)
    shown = {b.title: [c.n for c in b.cells] for b in report.breakdowns}
    # each site differs from each specialty by four trainees, fewer than five: only one of the
    # two breakdowns can be shown (the audit counts the people two selections differ by)
    assert shown["Specialty"] == [5, 5] and shown["Site"] == [None, None]
    assert [p.n is not None for p in cohort_report(ReportFilters(cohort.id)).trend] == [True] * 2


def check_answers_are_believable(trainees: list[User]):
    rows = db.session.execute(
        db.select(FeedbackCycle, Response.is_self, Response.rater_group, Answer.item_key,
                  Answer.score)
        .join(Response, Response.cycle_id == FeedbackCycle.id)
        .join(Answer, Answer.response_id == Response.id)
        .where(FeedbackCycle.status.in_(("closed", "released")))).all()
    scores = [score for *_, score in rows if score is not None]
    unrated = [score for _, is_self, *_, score in rows if not is_self and score is None]
    assert set(scores) == {1, 2, 3, 4, 5}
    assert 0.04 < len(unrated) / sum(1 for _, is_self, *_ in rows if not is_self) < 0.25
    assert not [r for r in rows if r.is_self and r.score is None], "self rates everything"

    by_group = defaultdict(list)
    # (trainee, self or others, domain) -> scores
    domains: dict[tuple[int, bool, str], list[int]] = defaultdict(list)
    for cycle, is_self, group, item, score in rows:
        if score is None:
            continue
        by_group[group].append(score)
        domain = instrument_for(cycle).domain_of_item(item).key
        domains[(cycle.id, is_self, domain)].append(score)
    assert mean(by_group["peer"]) > mean(by_group["supervisor"]) + 0.3
    assert mean(by_group["peer"]) > mean(by_group["senior"])

    def profile(cycle_id: int) -> dict[str, float]:
        return {d: mean(s) for (c, is_self, d), s in domains.items()
                if c == cycle_id and not is_self}

    cycle_ids = sorted({c for c, *_ in domains})
    profiles = [profile(c) for c in cycle_ids]
    best_and_worst = {(max(p, key=p.get), min(p, key=p.get)) for p in profiles}
    assert len({best for best, _ in best_and_worst}) >= 3, "trainees differ in strengths"
    assert len(best_and_worst) >= 4, "and in their weaknesses"
    first, second = profiles[0], profiles[1]
    assert max(abs(first[d] - second[d]) for d in first.keys() & second.keys()) > 0.5

    gaps = defaultdict(list)  # self minus others, by cycle and domain
    for (c, is_self, d), others in domains.items():
        if not is_self:
            gaps[c].append(mean(domains[(c, True, d)]) - mean(others))
    assert sum(max(g) >= 1.0 for g in gaps.values()) >= len(gaps) / 2, "blind spots"
    assert sum(min(g) <= -1.0 for g in gaps.values()) >= len(gaps) / 2, "hidden strengths"

    comments = list(db.session.scalars(db.select(Comment)))
    texts = [c.text for c in comments]
    raters = _count(Response) - db.session.scalar(
        db.select(db.func.count()).select_from(Response).where(Response.is_self))
    commenting = len({c.response_id for c in comments})
    assert 0.3 < commenting / raters < 0.7, "about half of raters comment"
    assert {c.prompt_key for c in comments} == {"strengths", "development"}
    assert len(set(texts)) >= 40
    first_names = {t.name.split()[0] for t in trainees}
    assert any(name in text for text in texts for name in first_names)
    assert not any("{" in text for text in texts)
    for cycle_id in cycle_ids:  # a rater never repeats another's words in the same cycle
        cycle_texts = list(db.session.scalars(db.select(Comment.text).join(Response)
                                              .where(Response.cycle_id == cycle_id)))
        assert len(cycle_texts) == len(set(cycle_texts))
