"""Subject access: an admin downloads everything held about one person, found by email.

A trainee's ZIP holds each kind of their data (the released report as stored, not recomputed); a
rater's holds the invitations sent to them and their declines, an explanation of why answers
cannot be given, and none of the answers or comments raters gave; an unknown address is a clear
"nothing held". Every lookup is audited with counts only.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import add_rater_responses, audit_events, csrf_token, post_form, text_of

from feedback360.extensions import db
from feedback360.models import (
    Answer,
    CoachAssignment,
    Comment,
    CycleSummary,
    DevelopmentGoal,
    LeadProgramme,
    Response,
    User,
)
from feedback360.services import cycles, reviews, surveys

PAGE = "/admin/subject-access"
RATER = "rater.one@nhs.net"
# What the raters of the released cycle wrote: none of it may leave in a rater's export.
RATER_COMMENTS = [f"Rater remark number {n} xyzzy" for n in range(12)]


@pytest.fixture
def world(app, make_user, make_cohort):
    """Trainee Bea's released cycle (raters' answers and comments, her self-assessment, a goal,
    a coach note, her coach), and a second open cycle that RATER declined."""
    trainee = make_user("bea@nhs.net", name="Bea Bee", cohort=make_cohort("B's intake"))
    coach = make_user("coach@nhs.net", role="coach", name="Xan Coach")
    make_user("admin@nhs.net", role="admin", name="Ada Admin")
    # A programme lead limited to Bea's programme: not one who answers subject access requests.
    scoped = make_user("lee@nhs.net", role="admin", name="Lee Scoped")
    with app.test_request_context():
        db.session.add(LeadProgramme(user_id=scoped.id, programme="Scientist Training Programme"))
        owner, coach_user = db.session.get(User, trainee.id), db.session.get(User, coach.id)
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        cycle = cycles.create_cycle(owner, instrument_key="clcf", title="Bea's first 360",
                                    closes_on=date.today() + timedelta(days=30))
        groups = ["supervisor", "senior", *["peer"] * 10]
        emails = [RATER, *(f"r{n}@nhs.net" for n in range(1, len(groups)))]
        for number, (group, email) in enumerate(zip(groups, emails, strict=True)):
            cycles.nominate(cycle, name=f"Rater {number}", email=email, group=group)
        cycles.launch(cycle)
        add_rater_responses(cycle, groups, RATER_COMMENTS)
        items = cycles.instrument_for(cycle).item_keys
        own = Response(cycle_id=cycle.id, is_self=True)
        own.answers = [Answer(item_key=key, score=4) for key in items]
        own.comments = [Comment(prompt_key="strengths", text="I listen well, said I")]
        db.session.add(own)
        for invitation in cycle.invitations:
            invitation.status, invitation.completed_on = "completed", date.today()
        cycles.close_cycle(cycle, by=coach_user)
        reviews.add_note(cycle, coach_user, "Talked about delegation")
        cycle.status, cycle.released_at, cycle.released_by_id = \
            "released", datetime.now(UTC), coach.id
        db.session.add(DevelopmentGoal(cycle_id=cycle.id, author_id=trainee.id,
                                       domain_key="managing-services", action="Chair a meeting"))
        second = cycles.create_cycle(owner, instrument_key="clcf", title="Bea's second 360",
                                     closes_on=date.today() + timedelta(days=30))
        cycles.nominate(second, name="Rater Zero", email=RATER, group="supervisor")
        surveys.decline(second.invitations[0], "On leave that fortnight")
        db.session.commit()
        return {"cycle_id": cycle.id, "trainee_id": trainee.id}


def export(client, email: str):  # type: ignore[no-untyped-def]
    return post_form(client, PAGE, {"email": email})


def files_of(response) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, text_of(response)
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def loaded(files: dict[str, bytes], kind: str):  # type: ignore[no-untyped-def]
    return json.loads(files[f"{kind}.json"])


@pytest.fixture
def admin(client, login):  # type: ignore[no-untyped-def]
    assert login(client, "admin@nhs.net").status_code == 302
    return client


def test_a_trainees_export_holds_each_kind_of_their_data(app, world, admin):
    files = files_of(export(admin, "Bea@NHS.net"))

    assert {"account.json", "cycles.json", "released_reports.json", "self_assessments.json",
            "goals.json", "coach_notes.json", "coach_assignments.json", "audit_events.json",
            "summary.html"} <= set(files)
    account = loaded(files, "account")
    assert account["name"] == "Bea Bee" and account["cohort"] == "B's intake"
    assert not {"password_hash", "session_nonce", "totp_secret"} & set(account)
    assert b"$argon2" not in b"".join(files.values())
    assert [c["title"] for c in loaded(files, "cycles")] == ["Bea's first 360",
                                                             "Bea's second 360"]
    [report] = loaded(files, "released_reports")
    with app.app_context():
        stored = db.session.get(CycleSummary, world["cycle_id"]).report
    assert report["report"] == stored  # as released, not recomputed
    assert {c["text"] for c in report["comments"]} == set(RATER_COMMENTS)
    [own] = loaded(files, "self_assessments")
    assert own["submitted"] and own["comments"] == {"strengths": "I listen well, said I"}
    assert [g["action"] for g in loaded(files, "goals")] == ["Chair a meeting"]
    assert [n["text"] for n in loaded(files, "coach_notes")] == ["Talked about delegation"]
    assert loaded(files, "coach_assignments")[0]["coach"] == "Xan Coach"
    actions = {event["action"] for event in loaded(files, "audit_events")}
    assert {"cycle.created", "cycle.closed", "note.added"} <= actions
    summary = files["summary.html"].decode()
    assert "Bea Bee" in summary and "Chair a meeting" in summary
    # Self-contained: nothing is fetched when the summary is opened.
    assert not re.search(r"<(script|link|img)|src=|href=", summary)

    [(_, target, detail)] = audit_events(app, "subject_access.exported")
    assert target == "bea@nhs.net"
    assert detail["found"] is True and detail["goals"] == 1 and detail["coach_notes"] == 1
    assert "Chair a meeting" not in json.dumps(detail)  # counts only


def test_a_coachs_export_holds_whom_they_coach(world, admin):
    files = files_of(export(admin, "coach@nhs.net"))
    assert loaded(files, "coach_assignments")[0]["trainee"] == "Bea Bee"
    assert loaded(files, "cycles") == []


def test_a_raters_export_holds_invitations_and_declines_and_no_answers(app, world, admin):
    response = export(admin, "  Rater.One@NHS.net ")
    files = files_of(response)

    invitations = loaded(files, "invitations")
    assert [(i["cycle"], i["trainee"], i["status"]) for i in invitations] == [
        ("Bea's first 360", "Bea Bee", "completed"), ("Bea's second 360", "Bea Bee", "declined")]
    assert loaded(files, "declines") == [{"trainee": "Bea Bee", "cycle": "Bea's second 360",
                                          "reason": "On leave that fortnight"}]
    summary = files["summary.html"].decode()
    assert "nothing that links them to you" in text_of(summary)
    assert "On leave that fortnight" in summary
    everything = b"".join(files.values()).decode()
    assert not [text for text in RATER_COMMENTS if text in everything]
    assert "I listen well" not in everything
    # The invitation email is there, without its live link: the export is no key to the survey.
    [mail] = loaded(files, "mail")
    assert "Bea Bee asks for your feedback" in mail["subject"] and "[redacted]" in mail["text"]
    assert re.search(r"/s/[\w.-]{20,}", everything) is None
    assert "released_reports.json" not in files and "self_assessments.json" not in files
    # No answers under any key either: what the rater scored is not theirs to be found.
    assert not any("answers" in record or "score" in record
                   for kind in ("invitations", "declines") for record in loaded(files, kind))
    [(_, target, detail)] = audit_events(app, "subject_access.exported")
    assert target == RATER
    assert detail == {"found": True, "invitations": 2, "declines": 1, "mail": 1}


def test_an_address_matching_nothing_says_nothing_is_held(app, world, admin):
    response = export(admin, "Nobody@Example.org")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "The service holds nothing about nobody@example.org" in text_of(response)
    [(_, target, detail)] = audit_events(app, "subject_access.exported")
    assert target == "nobody@example.org" and detail == {"found": False}


def test_the_person_page_links_to_the_request_with_their_address(world, admin):
    person = admin.get(f"/admin/users/{world['trainee_id']}")
    link = f"{PAGE}?user={world['trainee_id']}"
    assert link in person.text
    assert 'value="bea@nhs.net"' in admin.get(link).text
    assert PAGE in admin.get("/home/admin").text


@pytest.mark.parametrize(("email", "message"), [
    ("", "Enter the email address of the person asking"),
    ("a\x00b@nhs.net", "null character"),
    ("x" * 255, "254"),
])
def test_bad_input_is_a_clear_400(app, world, admin, email, message):
    response = export(admin, email)
    assert response.status_code == 400
    assert message in text_of(response)
    assert audit_events(app, "subject_access.exported") == []


def test_a_post_without_the_csrf_token_is_refused(app, world, admin):
    response = admin.post(PAGE, data={"email": "bea@nhs.net"})
    assert response.status_code == 400
    assert audit_events(app, "subject_access.exported") == []


@pytest.mark.parametrize("who", ["bea@nhs.net", "coach@nhs.net", "lee@nhs.net"])
def test_only_programme_leads_of_every_programme_may_export(app, world, client, login, who):
    assert login(client, who).status_code == 302
    token = csrf_token(client.get("/", follow_redirects=True))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, data={"email": "bea@nhs.net", "csrf_token": token}
                       ).status_code == 403
    assert audit_events(app, "subject_access.exported") == []


def test_a_scoped_lead_is_offered_no_link(world, client, login):
    assert login(client, "lee@nhs.net").status_code == 302
    person = client.get(f"/admin/users/{world['trainee_id']}")
    assert person.status_code == 200 and "Bea Bee" in person.text
    assert PAGE not in person.text and PAGE not in client.get("/home/admin").text
