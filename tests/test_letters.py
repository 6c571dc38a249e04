"""Letters of achievement (issue 13, point 5): issuing, the PDF, revoking and the public verify
page, which confirms a letter by its code and reveals nothing else."""

from __future__ import annotations

import io
import re

import pytest
from helpers import add_activity_with_feedback, audit_events, csrf_token, post, text_of
from pypdf import PdfReader

from feedback360.extensions import db
from feedback360.models import Activity, CoachAssignment, LeadProgramme, Letter, User
from feedback360.services import DomainError, letters

A4_POINTS = (595.28, 841.89)
CODE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")
# What the letter quotes and the verify page must never show.
SECRET_WORDS = ("Chaired the regional audit meeting", "Chaired calmly and kept to time",
                "Listened to every member", "Olu Observer", "Citation words only in the letter")


@pytest.fixture
def world(app, make_user, make_cohort):
    trainee = make_user("bea@nhs.net", name="Bea Bee", cohort=make_cohort("STP 2026"))
    other = make_user("ann@nhs.net", name="Ann Aye")
    coach = make_user("xan@nhs.net", role="coach", name="Xan Coach")
    make_user("yas@nhs.net", role="coach", name="Yas Coach")
    make_user("ada@nhs.net", role="admin", name="Ada Lead")
    scoped = make_user("lee@nhs.net", role="admin", name="Lee Lead")
    ours = make_user("sam@nhs.net", role="admin", name="Sam Lead")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        db.session.add(LeadProgramme(user_id=scoped.id, programme="Foundation Programme"))
        db.session.add(LeadProgramme(user_id=ours.id, programme="scientist training programme"))
        given = add_activity_with_feedback(trainee.id, "Chaired the regional audit meeting")
        pending = add_activity_with_feedback(trainee.id, "Sat on an interview panel",
                                             status="sent")
        theirs = add_activity_with_feedback(other.id, "Ann's own activity")
        db.session.commit()
        return {"trainee": trainee.id, "other": other.id, "coach": coach.id,
                "given": given.id, "pending": pending.id, "theirs": theirs.id}


def issue_letter(app, world, *, by: str = "xan@nhs.net") -> Letter:
    with app.test_request_context():
        issuer = db.session.scalar(db.select(User).where(User.email == by))
        letter = letters.issue(db.session.get(User, world["trainee"]),
                               activity_ids=[world["given"]], title="Leading the audit meeting",
                               citation="Citation words only in the letter.", by=issuer)
        db.session.commit()
        db.session.refresh(letter)
        db.session.expunge(letter)
        return letter


def signed_in(app, login, email: str):
    client = app.test_client()
    login(client, email)
    return client


def test_a_coach_issues_a_letter_frozen_as_issued(app, world, login):
    client = signed_in(app, login, "xan@nhs.net")
    page = client.get(f"/trainees/{world['trainee']}/letters/new")
    assert page.status_code == 200
    assert "Chaired the regional audit meeting" in page.text
    assert "Sat on an interview panel" not in page.text  # no written feedback given yet
    response = client.post(f"/trainees/{world['trainee']}/letters/new", data={
        "csrf_token": csrf_token(page), "activity_ids": [str(world["given"])],
        "title": "  Leading   the audit meeting ", "citation": "Bea led it well."})
    assert response.status_code == 302
    with app.app_context():
        letter = db.session.scalars(db.select(Letter)).one()
        assert CODE.match(letter.verification_code)
        assert (letter.title, letter.issuer_name, letter.issuer_role) == (
            "Leading the audit meeting", "Xan Coach", "Coach")
        content = letter.content
        assert content["trainee_name"] == "Bea Bee"
        assert content["organisation"] == app.config["ORGANISATION_NAME"]
        [activity] = content["activities"]
        assert activity["started_on"] == "2026-03-02"
        assert activity["elements"][0]["key"] == "relationships"
        [feedback] = activity["feedback"]
        assert feedback["observer_name"] == "Olu Observer"
        assert feedback["overall"] == "Chaired calmly and kept to time."
        assert feedback["answers"][0]["text"] == "Listened to every member of the panel."
        # Later edits to the activity never change the letter.
        db.session.get(Activity, world["given"]).title = "Renamed later"
        db.session.commit()
        assert db.session.get(Letter, letter.id).content == content
    listed = client.get(response.location)
    assert "Leading the audit meeting" in listed.text and letter.verification_code in listed.text
    assert [(actor, target) for actor, target, _ in audit_events(app, "letter.issued")] == [
        (world["coach"], f"letter:{letter.id}")]


@pytest.mark.parametrize(("data", "messages"), [
    ({}, ["Select at least one activity", "Enter a title", "Enter a citation"]),
    ({"activity_ids": ["pending"], "title": "T", "citation": "C"},
     ["Select activities from the list"]),
    ({"activity_ids": ["theirs"], "title": "T", "citation": "C"},
     ["Select activities from the list"]),
    ({"activity_ids": ["given"], "title": "T" * 201, "citation": "C" * 601},
     ["The title must be 200 characters or fewer",
      "The citation must be 600 characters or fewer"]),
    ({"activity_ids": ["not a number"], "title": "T", "citation": "C"}, ["Invalid choice"]),
])
def test_a_letter_needs_activities_with_feedback_a_title_and_a_citation(
        app, world, login, data, messages):
    client = signed_in(app, login, "xan@nhs.net")
    path = f"/trainees/{world['trainee']}/letters/new"
    sent = {**data, "activity_ids": [str(world.get(a, a)) for a in data.get("activity_ids", [])]}
    response = post(client, path, data=sent)
    assert response.status_code == 400
    for message in messages:
        assert message in response.text
    with app.app_context():
        assert db.session.scalars(db.select(Letter)).all() == []


@pytest.mark.parametrize(("email", "status"), [
    ("xan@nhs.net", 200),  # the trainee's coach
    ("ada@nhs.net", 200),  # a lead of every programme
    ("sam@nhs.net", 200),  # a lead of the trainee's programme
    ("yas@nhs.net", 404),  # another trainee's coach
    ("lee@nhs.net", 404),  # a lead of another programme
    ("ann@nhs.net", 403),  # a trainee
])
def test_who_may_issue_and_see_a_trainees_letters(app, world, login, email, status):
    client = signed_in(app, login, email)
    for path in (f"/trainees/{world['trainee']}/letters/new",
                 f"/trainees/{world['trainee']}/letters"):
        assert client.get(path).status_code == status, path


def test_the_pdf_is_one_a4_page_with_the_names_quotes_and_code(app, world, login):
    letter = issue_letter(app, world)
    client = signed_in(app, login, "bea@nhs.net")
    assert letter.verification_code in client.get("/letters").text
    response = client.get(f"/letters/{letter.id}/letter.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=0.5)
    text = " ".join(reader.pages[0].extract_text().split())
    for words in ("Letter of achievement", "Bea Bee", "Leading the audit meeting",
                  "Chaired the regional audit meeting", "Chaired calmly and kept to time",
                  "Olu Observer", "Xan Coach", letter.verification_code, "http://localhost/verify"):
        assert words in text, words
    assert [(actor, target) for actor, target, _ in audit_events(app, "letter.downloaded")] == [
        (world["trainee"], f"letter:{letter.id}")]


@pytest.mark.parametrize(("email", "status"), [
    ("ann@nhs.net", 404), ("yas@nhs.net", 404), ("lee@nhs.net", 404)])
def test_nobody_else_downloads_a_letter(app, world, login, email, status):
    letter = issue_letter(app, world)
    assert signed_in(app, login, email).get(
        f"/letters/{letter.id}/letter.pdf").status_code == status


def typed(code: str) -> list[str]:
    return [code, code.lower(), code.replace("-", " "), code.replace("-", ""),
            f"  {code.lower().replace('-', ' - ')} "]


def test_the_verify_page_confirms_a_letter_however_its_code_is_typed(app, world, client):
    letter = issue_letter(app, world)
    for text in typed(letter.verification_code):
        page = post(client, "/verify", data={"code": text})
        assert page.status_code == 200, text
        said = text_of(page)
        assert "This letter is genuine" in said, text
        assert "Issued to Bea Bee" in said and "Leading the audit meeting" in said
        assert "Xan Coach, Coach" in said
    assert "This letter is genuine" in client.get(f"/verify/{letter.verification_code}").text


def test_the_verify_page_reveals_nothing_but_who_by_whom_and_when(app, world, client):
    """The attack: whatever is sent, no activity, feedback, observer or citation comes back."""
    letter = issue_letter(app, world)
    found = client.get(f"/verify/{letter.verification_code.lower()}")
    unknown = client.get("/verify/K7QF-3MZP-XR9A")
    junk = post(client, "/verify", data={"code": "' OR 1=1 --"})
    for page in (found, unknown, junk, post(client, "/verify", data={
            "code": letter.verification_code})):
        assert page.status_code == 200
        assert page.headers["Cache-Control"] == "no-store"
        for words in SECRET_WORDS:
            assert words not in page.text, words
    assert "No letter found" in unknown.text and "No letter found" in junk.text
    assert "Bea Bee" not in unknown.text


def test_revoking_is_confirmed_audited_and_shown_on_the_verify_page(app, world, login, client):
    letter = issue_letter(app, world)
    assert signed_in(app, login, "ann@nhs.net").get(
        f"/letters/{letter.id}/revoke").status_code == 403
    assert signed_in(app, login, "yas@nhs.net").get(
        f"/letters/{letter.id}/revoke").status_code == 404
    coach = signed_in(app, login, "xan@nhs.net")
    page = coach.get(f"/letters/{letter.id}/revoke")
    assert "Revoke the letter" in page.text
    assert coach.post(f"/letters/{letter.id}/revoke",
                      data={"csrf_token": csrf_token(page)}).status_code == 302
    said = text_of(client.get(f"/verify/{letter.verification_code}"))
    assert "This letter was revoked" in said and "This letter is genuine" not in said
    assert "Issued to Bea Bee" in said
    assert len(audit_events(app, "letter.revoked")) == 1
    again = coach.get(f"/letters/{letter.id}/revoke", follow_redirects=True)
    assert "already been revoked" in again.text
    assert "Revoked" in again.text


def test_a_lead_may_revoke_a_coachs_letter_and_another_coach_may_not(app, world):
    letter = issue_letter(app, world)
    with app.test_request_context():
        mine = db.session.get(Letter, letter.id)
        other_coach = db.session.scalar(db.select(User).where(User.email == "yas@nhs.net"))
        with pytest.raises(DomainError):
            letters.revoke(mine, by=other_coach)
        lead = db.session.scalar(db.select(User).where(User.email == "ada@nhs.net"))
        letters.revoke(mine, by=lead)
        assert mine.revoked_at is not None


def test_codes_are_random_unambiguous_and_normalised():
    codes = {letters.new_code() for _ in range(200)}
    assert len(codes) == 200 and all(CODE.match(code) for code in codes)
    assert not set("01OIL") & set("".join(codes))
    code = next(iter(codes))
    assert {letters.normalise_code(text) for text in typed(code)} == {code}
    for text in ("", None, "K7QF-3MZP-XR9", "K7QF-3MZP-XR9AA", "K7QO-3MZP-XR9A", "x" * 500,
                 "K7QF\x003MZP-XR9A"):
        assert letters.normalise_code(text) is None, text


def test_both_ways_of_checking_a_code_share_one_rate_limit(make_app):
    client = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="3 per minute").test_client()
    token = csrf_token(client.get("/verify"))
    statuses = [client.post("/verify", data={"code": "K7QF-3MZP-XR9A", "csrf_token": token})
                .status_code, client.get("/verify/K7QF-3MZP-XR9B").status_code,
                client.post("/verify", data={"code": "K7QF-3MZP-XR9C", "csrf_token": token})
                .status_code, client.get("/verify/K7QF-3MZP-XR9D").status_code]
    assert statuses == [200, 200, 200, 429]
