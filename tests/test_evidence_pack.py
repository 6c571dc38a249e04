"""The e-portfolio evidence pack (issue 13, point 7): a ZIP of the released report's PDF, the
activities' PDF and ``evidence.json``, valid against ``docs/evidence-pack.schema.json``, holding
nothing the trainee cannot already see."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import add_activity_with_feedback, add_rater_responses, audit_events, csrf_token
from pypdf import PdfReader

from feedback360.extensions import db
from feedback360.models import CoachAssignment, Comment, FeedbackCycle, Response, User
from feedback360.services import cycles, letters

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "docs"
                     / "evidence-pack.schema.json").read_text())
A4_POINTS = (595.28, 841.89)
GROUPS = ["supervisor", "senior", *["peer"] * 8]
HIDDEN = "Comment 4, hidden by the coach"


def released_cycle(owner: User, coach_id: int, *, release: bool = True,
                   answered: int = len(GROUPS)) -> int:
    cycle = cycles.create_cycle(owner, instrument_key="clcf", title=f"Spring 360 {release}",
                                closes_on=date.today() + timedelta(days=30))
    for number, group in enumerate(GROUPS):
        cycles.nominate(cycle, name=f"Rater {number}", email=f"r{number}.{release}@nhs.net",
                        group=group)
    cycles.launch(cycle)
    add_rater_responses(cycle, GROUPS[:answered], [f"Comment {n}" if n != 4 else HIDDEN
                                                   for n in range(answered)])
    cycles.close_cycle(cycle, by=None)
    if release:
        cycle.status, cycle.released_at, cycle.released_by_id = \
            "released", datetime.now(UTC), coach_id
    db.session.flush()
    return cycle.id


@pytest.fixture
def world(app, make_user):
    trainee = make_user("bea@nhs.net", name="Bea Bee", specialty="Clinical biochemistry")
    other = make_user("ann@nhs.net", name="Ann Aye")
    coach = make_user("xan@nhs.net", role="coach", name="Xan Coach")
    with app.test_request_context():
        owner = db.session.get(User, trainee.id)
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        released = released_cycle(owner, coach.id)
        closed = released_cycle(owner, coach.id, release=False)
        comment = db.session.scalars(
            db.select(Comment).join(Response, Response.id == Comment.response_id)
            .where(Comment.text == HIDDEN, Response.cycle_id == released)).one()
        comment.hidden_at, comment.hidden_reason = datetime.now(UTC), "Names a colleague"
        given = add_activity_with_feedback(trainee.id, "Chaired the audit meeting")
        pending = add_activity_with_feedback(trainee.id, "Interview panel", status="sent",
                                             observer="Pat Pending")
        letter = letters.issue(owner, activity_ids=[given.id], title="Audit leadership",
                               citation="Well led.", by=db.session.get(User, coach.id))
        theirs = add_activity_with_feedback(other.id, "Ann's activity")
        other_cycle = released_cycle(db.session.get(User, other.id), coach.id)
        db.session.commit()
        return {"released": released, "closed": closed, "given": given.id,
                "pending": pending.id, "theirs": theirs.id, "other_cycle": other_cycle,
                "code": letter.verification_code}


def check_schema(value, schema, path="$"):  # type: ignore[no-untyped-def]
    """The parts of JSON Schema the pack's schema uses (jsonschema is not a dependency)."""
    if "$ref" in schema:
        schema = SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    if "oneOf" in schema:
        passing = 0
        for option in schema["oneOf"]:
            try:
                check_schema(value, option, path)
                passing += 1
            except AssertionError:
                pass
        assert passing == 1, f"{path}: matches {passing} of oneOf"
        return
    if "const" in schema:
        assert value == schema["const"], path
    if "enum" in schema:
        assert value in schema["enum"], path
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        types = {"object": dict, "array": list, "string": str, "boolean": bool,
                 "null": type(None), "integer": int, "number": (int, float)}
        assert any(isinstance(value, types[k]) and not (k in ("integer", "number")
                   and isinstance(value, bool)) for k in kinds), f"{path}: {value!r} not {kinds}"
    if schema.get("format") == "date":
        date.fromisoformat(value)
    if schema.get("format") == "date-time":
        datetime.fromisoformat(value)
    if "pattern" in schema:
        assert re.search(schema["pattern"], value), path
    if "minimum" in schema and value is not None:
        assert value >= schema["minimum"], path
    if isinstance(value, dict) and "properties" in schema:
        assert set(schema.get("required", [])) <= set(value), f"{path}: missing fields"
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(schema["properties"]), f"{path}: unknown fields"
        for name, item in value.items():
            check_schema(item, schema["properties"][name], f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for number, item in enumerate(value):
            check_schema(item, schema["items"], f"{path}[{number}]")


def pdf_text(data: bytes) -> tuple[str, list[tuple[float, float]]]:
    reader = PdfReader(io.BytesIO(data))
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split()), sizes


def trainee_client(app, login):
    client = app.test_client()
    login(client, "bea@nhs.net")
    return client


def test_the_pack_holds_the_report_the_activities_and_json_in_the_schema(app, world, login):
    client = trainee_client(app, login)
    page = client.get("/portfolio/evidence")
    assert page.status_code == 200
    assert "Spring 360 True" in page.text and "Spring 360 False" not in page.text  # released only
    assert "Ann&#39;s activity" not in page.text
    response = client.post("/portfolio/evidence", data={
        "csrf_token": csrf_token(page), "cycle_id": str(world["released"]),
        "activity_ids": [str(world["given"]), str(world["pending"])]})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = sorted(archive.namelist())
    folder = names[0].split("/")[0]
    assert names == [f"{folder}/{name}" for name in
                     ("360-report.pdf", "evidence.json", "leadership-activities.pdf")]
    pack = json.loads(archive.read(f"{folder}/evidence.json"))
    check_schema(pack, SCHEMA)

    report = pack["report"]
    assert report["enough_responses"] and report["responses"] == len(GROUPS)
    texts = [comment["text"] for comment in report["comments"]]
    assert HIDDEN not in texts and "Comment 0" in texts
    text, sizes = pdf_text(archive.read(f"{folder}/360-report.pdf"))
    assert sizes and all(size == pytest.approx(A4_POINTS, abs=0.5) for size in sizes)
    assert "Bea Bee" in text and "Spring 360 True" in text and "Comment 0" in text
    assert HIDDEN not in text and "Names a colleague" not in text
    first_domain = report["domains"]["rows"][0]
    assert first_domain[0] in text and all(cell in text for cell in first_domain[1:])

    given, pending = pack["activities"][::-1] if pack["activities"][0]["title"] != \
        "Chaired the audit meeting" else pack["activities"]
    assert given["feedback"][0]["observer_name"] == "Olu Observer"
    assert given["letters"][0]["verification_code"] == world["code"]
    assert pending["feedback"] == [] and pending["letters"] == []
    text, sizes = pdf_text(archive.read(f"{folder}/leadership-activities.pdf"))
    assert all(size == pytest.approx(A4_POINTS, abs=0.5) for size in sizes)
    for words in ("Chaired the audit meeting", "Olu Observer", "Chaired calmly and kept to time",
                  world["code"], "Interview panel"):
        assert words in text, words
    assert "Pat Pending" not in text
    [(actor, target, detail)] = audit_events(app, "evidence.pack_downloaded")
    assert target == f"user:{actor}"
    assert detail == {"cycle": world["released"],
                      "activities": sorted([world["given"], world["pending"]])}


@pytest.mark.parametrize(("data", "message"), [
    ({}, "Select a released report or at least one activity"),
    ({"cycle_id": "closed"}, "Select one of your released reports"),
    ({"cycle_id": "other_cycle"}, "Select one of your released reports"),
    ({"cycle_id": "99999999999999999999"}, "Select one of your released reports"),
    ({"activity_ids": ["theirs"]}, "Select activities from the list"),
    ({"activity_ids": ["x"]}, "Invalid choice"),
])
def test_only_the_trainees_own_released_report_and_activities(app, world, login, data,
                                                             message):
    client = trainee_client(app, login)
    page = client.get("/portfolio/evidence")
    sent = {"csrf_token": csrf_token(page)}
    if "cycle_id" in data:
        sent["cycle_id"] = str(world.get(data["cycle_id"], data["cycle_id"]))
    if "activity_ids" in data:
        sent["activity_ids"] = [str(world.get(a, a)) for a in data["activity_ids"]]
    response = client.post("/portfolio/evidence", data=sent)
    assert response.status_code == 400
    assert message in response.text
    assert audit_events(app, "evidence.pack_downloaded") == []


def test_a_pack_of_activities_alone_has_no_report(app, world, login):
    client = trainee_client(app, login)
    page = client.get("/portfolio/evidence")
    response = client.post("/portfolio/evidence", data={
        "csrf_token": csrf_token(page), "cycle_id": "", "activity_ids": [str(world["given"])]})
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(name.split("/")[1] for name in archive.namelist()) == [
        "evidence.json", "leadership-activities.pdf"]
    pack = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith(".json"))))
    check_schema(pack, SCHEMA)
    assert pack["report"] is None


def test_a_report_with_too_few_responses_gives_no_score_or_comment(app, make_user):
    """Checked on the content (no PDF): the pack says what the page says, counts only."""
    from feedback360.services import evidence

    trainee = make_user("zed@nhs.net")
    coach = make_user("cy@nhs.net", role="coach")
    with app.test_request_context():
        owner = db.session.get(User, trainee.id)
        cycle = db.session.get(FeedbackCycle, released_cycle(owner, coach.id, answered=3))
        content = evidence.pack_content(owner, cycle, [])
    check_schema(json.loads(json.dumps(content)), SCHEMA)
    report = content["report"]
    assert not report["enough_responses"] and report["responses"] == 3
    assert report["domains"] is None and report["elements"] is None
    assert report["comments"] == [] and report["responses_by_group"] == []
    assert "Comment" not in json.dumps(content)
