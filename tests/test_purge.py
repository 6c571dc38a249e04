"""Retention (issue 11, point 1): ``flask purge`` removes each kind of data once its period has
passed, and only then; ``--dry-run`` changes nothing; a second run finds nothing; its work is
audit-logged by count; and no released report or cohort report changes by a character."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from feedback360.config import ConfigurationError, load
from feedback360.demo import seed_demo
from feedback360.extensions import db
from feedback360.models import (
    AuditEvent,
    Cohort,
    Comment,
    FeedbackCycle,
    Invitation,
    OutboxMessage,
    Response,
    User,
)
from feedback360.services import account_admin, cohort_analyses, retention

PASSWORD = "demo passphrase words"
KINDS = {  # kind as the command names it: its setting
    "rater details": "RATER_DETAILS_RETENTION_DAYS",
    "observer details": "RATER_DETAILS_RETENTION_DAYS",
    "answers": "ANSWER_RETENTION_DAYS",
    "mail": "MAIL_RETENTION_DAYS",
    "deactivated accounts": "DEACTIVATED_ACCOUNT_RETENTION_DAYS",
}
KEEP_ALL = {setting: 0 for setting in KINDS.values()} | {"AUDIT_RETENTION_DAYS": 0}


def seeded(make_app, **settings):
    """An app with ``settings`` on the demo's data, its cohort reports built, and one coach
    deactivated now. Returns the app and the demo's (role, email) logins."""
    app = make_app(**settings)
    with app.app_context():
        logins = seed_demo(PASSWORD)
        db.session.commit()
        cohort_analyses.refresh(db.session.scalars(db.select(Cohort.id)))
        admin = db.session.scalar(db.select(User).filter_by(role="admin"))
        coach = db.session.scalars(db.select(User).filter_by(role="coach")).first()
        account_admin.deactivate(coach, by=admin)
        db.session.commit()
    return app, logins


def purge(app, *args: str) -> dict[str, str]:
    """Run ``flask purge``; its summary lines by kind."""
    result = app.test_cli_runner().invoke(args=["purge", *args])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.output.strip().splitlines())
    assert set(lines) == {*KINDS, "audit events"}  # one line per kind, for cron's mail
    return lines


def count(line: str) -> int:
    return int(line.split()[0])


def oldest(kind: str) -> datetime:
    """When the oldest thing of this kind began its retention period."""
    if kind == "observer details":  # three ways to end (tests/test_purge_observers.py)
        return min(retention.observer_requests_ended().values())
    cycles = db.select(db.func.min(FeedbackCycle.closed_at))
    return db.session.scalar({
        "rater details": cycles.where(FeedbackCycle.status.in_(("closed", "released"))),
        "answers": cycles.where(FeedbackCycle.status == "released"),
        "mail": db.select(db.func.min(OutboxMessage.sent_at)),
        "deactivated accounts": db.select(db.func.max(AuditEvent.created_at))
        .filter_by(action="user.deactivated"),
    }[kind])


def snapshot() -> dict[str, object]:
    """What the purge may change, as plain values."""
    return {
        "invitations": sorted(db.session.execute(db.select(
            Invitation.id, Invitation.rater_name, Invitation.rater_email,
            Invitation.decline_reason, Invitation.status, Invitation.rater_group)).all()),
        "responses": db.session.scalar(db.select(db.func.count()).select_from(Response)),
        "comments": db.session.scalar(db.select(db.func.count()).select_from(Comment)),
        "mail": db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)),
        "users": sorted(db.session.execute(db.select(User.id, User.name, User.email)).all()),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_goes_only_after_its_period(make_app, kind):
    app, _ = seeded(make_app, **KEEP_ALL | {KINDS[kind]: 30})
    with app.app_context():
        start = oldest(kind)
    with time_machine.travel(start + timedelta(days=29), tick=False):
        lines = purge(app)
        assert count(lines[kind]) == 0
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert count(purge(app, "--dry-run")[kind]) >= 1
        lines = purge(app)
    assert count(lines[kind]) >= 1
    others = {other for other, setting in KINDS.items() if setting != KINDS[kind]}
    assert all(lines[other].startswith("kept") for other in others), lines


def test_dry_run_changes_nothing_then_purge_removes_it_all_once_and_says_so(make_app):
    app, _ = seeded(make_app)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=800), tick=False):
        with app.app_context():
            before = snapshot()
        planned = purge(app, "--dry-run")
        assert all("would be" in line for line in planned.values())
        with app.app_context():
            assert snapshot() == before
            assert not db.session.scalar(db.select(AuditEvent.id).filter_by(
                action="retention.purged"))
        done = purge(app)
        again = purge(app)
    assert {kind: count(line) for kind, line in done.items() if kind in KINDS} == {
        kind: count(line) for kind, line in planned.items() if kind in KINDS}
    assert all(count(done[kind]) >= 1 for kind in KINDS), done
    assert all(count(again[kind]) == 0 for kind in KINDS), again  # idempotent
    with app.app_context():
        after = snapshot()
        assert after["responses"] < before["responses"] and after["comments"] < before["comments"]
        assert after["mail"] < before["mail"]
        # Invitations stay, each with its group and status; who they were, and why they
        # declined, goes.
        assert [row[4:] for row in after["invitations"]] == [
            row[4:] for row in before["invitations"]]
        closed = set(db.session.scalars(db.select(Invitation.id).join(FeedbackCycle).where(
            FeedbackCycle.status.in_(("closed", "released")))))
        for row in after["invitations"]:
            if row[0] in closed:
                assert row[1:4] == ("Name removed", f"purged-{row[0]}@purged.invalid", None)
        former = [user for user in after["users"] if user[1] == "Former user"]
        assert [email for _, _, email in former] == [
            f"former-user-{former[0][0]}@anonymised.invalid"]
        # Only the trainee's own self-assessments are left of released cycles' answers.
        released = db.select(FeedbackCycle.id).filter_by(status="released")
        assert not db.session.scalar(db.select(Response.id).where(
            Response.cycle_id.in_(released), ~Response.is_self))
        events = db.session.execute(db.select(AuditEvent.target, AuditEvent.detail)
                                    .filter_by(action="retention.purged")).all()
    assert {target: detail["count"] for target, detail in events} == {
        kind: count(done[kind]) for kind in KINDS}
    assert all(set(detail) == {"count", "before"} for _, detail in events)  # counts only


def _stable(html: str) -> str:
    """A page without what differs between two renderings of the same thing."""
    html = re.sub(r'nonce="[^"]*"', "", html)
    return re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", html)


def _pages(app, logins, login) -> dict[str, str]:
    """Every released report as its trainee sees it, their cycle lists, and each cohort report
    (page and files) as a programme lead sees it."""
    pages: dict[str, str] = {}
    with app.app_context():
        released = db.session.execute(db.select(FeedbackCycle.id, User.email).join(
            User, User.id == FeedbackCycle.trainee_id).filter_by(status="released")).all()
        cohorts = list(db.session.scalars(db.select(Cohort.id)))
    for cycle_id, email in released:
        client = app.test_client()
        login(client, email, PASSWORD)
        for path in (f"/cycles/{cycle_id}/report", "/cycles/"):
            pages[f"{email} {path}"] = client.get(path)
    admin = app.test_client()
    login(admin, dict(logins)["admin"], PASSWORD)  # with the demo admin's second factor
    for cohort_id in cohorts:
        base = f"/cohorts/{cohort_id}/report"
        for path in (base, f"{base}/download?file=aggregates&format=csv",
                     f"{base}/download?file=items&format=csv"):
            pages[path] = admin.get(path)
    assert all(page.status_code == 200 for page in pages.values()), {
        path: page.status_code for path, page in pages.items()}
    return {path: _stable(page.get_data(as_text=True)) for path, page in pages.items()}


def test_released_and_cohort_reports_are_the_same_after_a_purge(make_app, login):
    app, logins = seeded(make_app)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=800), tick=False):
        before = _pages(app, logins, login)
        with app.app_context():  # the reports did show colleagues' comments
            shown = set(db.session.scalars(db.select(Comment.text).join(Response).join(
                FeedbackCycle).where(FeedbackCycle.status == "released",
                                     Comment.hidden_at.is_(None))))
        assert any(text in page for page in before.values() for text in shown)
        assert count(purge(app)["answers"]) >= 1
        after = _pages(app, logins, login)
    assert after.keys() == before.keys()
    for path, page in before.items():
        assert after[path] == page, path


@pytest.mark.parametrize(("settings", "wrong"), [
    ({"MAIL_RETENTION_DAYS": -1}, "MAIL_RETENTION_DAYS must be 0"),
    ({"ANSWER_RETENTION_DAYS": "a year"}, "ANSWER_RETENTION_DAYS must be 0"),
    ({"RATER_DETAILS_RETENTION_DAYS": 36_501}, "RATER_DETAILS_RETENTION_DAYS must be 0"),
    ({"DEACTIVATED_ACCOUNT_RETENTION_DAYS": True}, "DEACTIVATED_ACCOUNT_RETENTION_DAYS must"),
])
def test_a_wrong_period_stops_the_app_starting(tmp_path, settings, wrong):
    with pytest.raises(ConfigurationError, match=wrong):
        load(str(tmp_path), {"FEEDBACK360_ENV": "development", **settings})


def test_environment_periods_are_read_as_days(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIL_RETENTION_DAYS", "14")
    assert load(str(tmp_path), {"FEEDBACK360_ENV": "development"})["MAIL_RETENTION_DAYS"] == 14


def test_the_privacy_notice_states_each_period(make_app):
    page = make_app(RATER_DETAILS_RETENTION_DAYS=200, ANSWER_RETENTION_DAYS=0,
                    MAIL_RETENTION_DAYS=14, DEACTIVATED_ACCOUNT_RETENTION_DAYS=730
                    ).test_client().get("/privacy")
    words = " ".join(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)).split())
    for said in ("names and email addresses of the colleagues asked, and any reason given "
                 "for declining, are kept for 200 days after the feedback closes",
                 "Colleagues' answers and comments are kept for as long as the service runs",
                 "emails we send are kept for 14 days after they are sent",
                 "730 days (2 years) after it is closed"):
        assert said in words


def test_an_account_whose_deactivation_left_the_trail_is_anonymised(make_app, make_user):
    """With the trail kept for less time than deactivated accounts, the deactivation's event
    goes first; the account must not then be kept forever."""
    app = make_app(**KEEP_ALL | {"AUDIT_RETENTION_DAYS": 90,
                                 "DEACTIVATED_ACCOUNT_RETENTION_DAYS": 365})
    user = make_user("gone.trainee@nhs.net", active=False)
    with app.app_context():
        db.session.add(AuditEvent(action="user.deactivated", target=f"user:{user.id}",
                                  created_at=datetime.now(UTC) - timedelta(days=100)))
        db.session.commit()
    first = purge(app)
    assert (count(first["deactivated accounts"]), count(first["audit events"])) == (0, 1)
    assert count(purge(app)["deactivated accounts"]) == 1
    with app.app_context():
        assert db.session.get(User, user.id).email == (
            f"former-user-{user.id}@anonymised.invalid")
