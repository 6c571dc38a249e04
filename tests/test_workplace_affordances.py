"""The workplace affordances questionnaire: its file and loader, its snapshot, answering it (in a
cycle and after a placement change), sharing with the coach, and nobody else reaching one
trainee's answers by any route."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import (
    add_placement,
    csrf_token,
    form_fields,
    launch,
    new_cycle,
    post,
    ready_cycle,
    text_of,
)

from feedback360.extensions import db
from feedback360.instruments import InstrumentError, InstrumentVersionConflict, load_directory
from feedback360.instruments.affordances import load_questionnaire
from feedback360.models import (
    AffordanceAnswer,
    AffordanceResponse,
    AuditEvent,
    CoachAssignment,
    InstrumentVersion,
    Organisation,
)

SOURCE = Path(__file__).resolve().parent.parent / "instruments" / "affordances" / "affordances.yaml"
ITEMS = ("departmental-leadership", "supervisor-engagement", "patient-contact",
         "leadership-opportunities", "protected-time", "role-models")
ANSWERS = {"departmental-leadership": "2", "supervisor-engagement": "4", "patient-contact": "na",
           "leadership-opportunities": "5", "protected-time": "1", "role-models": "3"}


# --- the file and its loader ----------------------------------------------------------------

def test_the_questionnaire_asks_about_the_six_affordances_on_a_labelled_scale():
    questionnaire = load_questionnaire(SOURCE)
    assert questionnaire.key == "affordances" and questionnaire.version >= 1
    assert questionnaire.item_keys == ITEMS
    assert set(questionnaire.scale.labels) == set(questionnaire.scale.points)
    assert questionnaire.scale.does_not_apply and questionnaire.comment.prompt
    assert len(questionnaire.sha256) == 64


def test_it_is_not_taken_for_a_360_instrument():
    assert "affordances" not in load_directory(SOURCE.parent.parent)


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace("title: Your placement", "colour: blue\ntitle: Your placement"),
     "unknown key 'colour'"),
    (lambda t: t.replace("version: 1", "version: 1\nversion: 2"), "duplicate key 'version'"),
    (lambda t: t.replace("    3: Neither agree nor disagree\n", ""),
     "scale.labels: missing the label of point 3"),
    (lambda t: t.replace("  does_not_apply: Does not apply to this placement\n", ""),
     "scale: missing 'does_not_apply'"),
    (lambda t: t.replace("  - key: role-models\n", "  - key: patient-contact\n"),
     "items[5].key: duplicate item key 'patient-contact'"),
    (lambda t: t.replace("    text: I have protected time for leadership activities and learning.",
                         "    text: ''"), "items[4].text: must not be empty"),
    (lambda t: t.replace("  max: 5", "  max: 11"), "must lie between 1 and 10"),
])
def test_a_broken_file_names_the_file_and_the_path(tmp_path, change, message):
    broken = tmp_path / "affordances.yaml"
    broken.write_text(change(SOURCE.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(InstrumentError) as raised:
        load_questionnaire(broken)
    assert "affordances.yaml" in str(raised.value) and message in str(raised.value)


# --- answering --------------------------------------------------------------------------------

@pytest.fixture
def trainee(app, make_user):
    """A trainee placed since last year, with a coach (X) and another coach (Y) who is not
    theirs; a lead, and a champion of the placement's organisation."""
    person = make_user("tia@nhs.net", name="Tia Trainee")
    coach = make_user("x@nhs.net", role="coach", name="Xan Coach")
    make_user("y@nhs.net", role="coach", name="Yas Coach")
    make_user("admin@nhs.net", role="admin", name="Ada Admin")
    with app.app_context():
        placement = add_placement(person.id, date.today() - timedelta(days=200))
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=person.id))
        organisation_id = db.session.scalar(db.select(Organisation.id))
        db.session.commit()
        placement_id = placement.id
    make_user("champ@nhs.net", role="champion", name="Cham Pion", organisation_id=organisation_id)
    return {"id": person.id, "placement_id": placement_id}


def answer(client, path="/portfolio/affordances/new", **extra):
    page = client.get(path)
    assert page.status_code == 200, text_of(page)
    fields = next(fields for index in range(5)
                  if "placement_id" in (fields := form_fields(page, index=index)))
    return client.post(path, data={**fields, **ANSWERS, **extra})


def stored_response(app):
    with app.app_context():
        response = db.session.scalar(db.select(AffordanceResponse))
        return {"id": response.id, "shared": response.shared_with_coach,
                "cycle_id": response.cycle_id, "comment": response.comment,
                "scores": {a.item_key: a.score for a in response.answers},
                "version": (response.instrument_version.key, response.instrument_version.version)}


def test_the_trainee_is_told_who_sees_what_before_answering(app, trainee, client, login):
    login(client, "tia@nhs.net")
    page = text_of(client.get("/portfolio/affordances/new"))
    assert "Who sees your answers" in page
    assert "Your coach sees them only if you tick" in page
    assert "Programme leads and your employer's leadership champion never see your answers" in page
    assert page.index("Who sees your answers") < page.index("The department is well led")


def test_answers_are_stored_with_a_snapshot_and_audited_without_content(app, trainee, client,
                                                                        login):
    login(client, "tia@nhs.net")
    response = answer(client, comment="Busy but kind")
    assert response.status_code == 302
    stored = stored_response(app)
    assert stored["scores"] == {key: (None if value == "na" else int(value))
                                for key, value in ANSWERS.items()}
    assert stored["version"] == ("affordances", 1) and not stored["shared"]
    assert stored["comment"] == "Busy but kind" and stored["cycle_id"] is None
    with app.app_context():
        snapshot = db.session.scalar(db.select(InstrumentVersion).filter_by(key="affordances"))
        assert snapshot.sha256 == load_questionnaire(SOURCE).sha256
        event = db.session.scalar(db.select(AuditEvent)
                                  .filter_by(action="affordances.answered"))
        assert "Busy" not in str(event.detail) and "score" not in str(event.detail)
    page = text_of(client.get(response.location))
    assert "Neither agree nor disagree" in page and "Does not apply to this placement" in page


def test_every_item_needs_an_answer(app, trainee, client, login):
    login(client, "tia@nhs.net")
    response = answer(client, **{"protected-time": "", "role-models": "7"})
    assert response.status_code == 400
    page = text_of(response)
    assert page.count("Choose an answer for:") >= 2 and "There is a problem" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AffordanceAnswer.item_key))) == 0


def test_a_changed_file_needs_a_new_version_and_old_answers_keep_theirs(app, trainee, client,
                                                                        login, tmp_path):
    login(client, "tia@nhs.net")
    assert answer(client).status_code == 302
    directory = tmp_path / "instruments"
    shutil.copytree(SOURCE.parent.parent, directory)
    copy = directory / "affordances" / "affordances.yaml"
    copy.write_text(SOURCE.read_text(encoding="utf-8").replace(
        "I have protected time", "I am given protected time"), encoding="utf-8")
    app.config["INSTRUMENTS_DIR"] = str(directory)
    with app.test_request_context(), pytest.raises(InstrumentVersionConflict) as raised:
        from feedback360.instruments import snapshot
        from feedback360.services.affordances import questionnaire

        snapshot(questionnaire())
    assert "bump 'version' to 2" in str(raised.value)
    copy.write_text(copy.read_text(encoding="utf-8").replace("version: 1", "version: 2"),
                    encoding="utf-8")
    assert answer(client).status_code == 302
    with app.app_context():
        versions = db.session.scalars(db.select(InstrumentVersion.version)
                                      .filter_by(key="affordances")
                                      .order_by(InstrumentVersion.version)).all()
        assert versions == [1, 2]
    first = stored_response(app)["id"]
    assert "I have protected time" in text_of(client.get(f"/portfolio/affordances/{first}"))


def test_in_a_cycle_it_is_a_step_that_never_blocks_launching(app, trainee, client, login):
    login(client, "tia@nhs.net")
    cycle_id = ready_cycle(client)
    step = re.compile(r"Answer the placement questions \(optional\) .*? (Not started|Completed)")
    assert step.search(text_of(client.get(f"/cycles/{cycle_id}"))).group(1) == "Not started"
    assert launch(client, cycle_id).status_code == 302
    assert "Answer the placement questions" in text_of(client.get(f"/cycles/{cycle_id}"))
    path = f"/portfolio/cycles/{cycle_id}/affordances"
    assert answer(client, path).location.endswith(f"/cycles/{cycle_id}")
    assert stored_response(app)["cycle_id"] == cycle_id
    assert "Answer the placement questions" not in text_of(client.get(f"/cycles/{cycle_id}"))
    # Once per cycle.
    assert client.get(path).status_code == 302


def test_a_draft_cycle_shows_the_step_completed(app, trainee, client, login):
    login(client, "tia@nhs.net")
    cycle_id = new_cycle(client)
    answer(client, f"/portfolio/cycles/{cycle_id}/affordances")
    step = re.compile(r"Answer the placement questions \(optional\) .*? (Not started|Completed)")
    assert step.search(text_of(client.get(f"/cycles/{cycle_id}"))).group(1) == "Completed"


def test_after_adding_a_placement_the_questions_are_offered(app, trainee, client, login):
    login(client, "tia@nhs.net")
    with app.app_context():
        add_placement(trainee["id"], date.today() - timedelta(days=300),
                      date.today() - timedelta(days=250), site="Old Site")
        db.session.commit()
    page = client.get("/portfolio/placements")
    assert "Answer the placement questions" in text_of(page)
    assert f"/portfolio/affordances/new?placement={trainee['placement_id']}" in page.text
    assert answer(client).status_code == 302
    assert "Tell us about your placement" not in text_of(client.get("/portfolio/placements"))


# --- who reads one trainee's answers ---------------------------------------------------------

def status_as(app, login, email, path):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client.get(path).status_code


def set_sharing(client, response_id, share: bool):
    page = f"/portfolio/affordances/{response_id}"
    return post(client, page, f"{page}/sharing", {"share": "y"} if share else {})


def test_the_coach_reads_answers_only_while_they_are_shared(app, trainee, client, login):
    login(client, "tia@nhs.net")
    answer(client)
    response_id = stored_response(app)["id"]
    own = f"/portfolio/affordances/{response_id}"
    coach_list = f"/portfolio/trainees/{trainee['id']}/affordances"
    assert status_as(app, login, "x@nhs.net", own) == 404
    assert "has not shared any answers" in text_of(_client_get(app, login, "x@nhs.net",
                                                               coach_list))
    assert set_sharing(client, response_id, True).status_code == 302
    assert stored_response(app)["shared"]
    assert status_as(app, login, "x@nhs.net", own) == 200
    assert own in _client_get(app, login, "x@nhs.net", coach_list).text
    assert set_sharing(client, response_id, False).status_code == 302
    assert status_as(app, login, "x@nhs.net", own) == 404


def _client_get(app, login, email, path):
    client = app.test_client()
    login(client, email)
    return client.get(path)


@pytest.mark.parametrize("email", ["y@nhs.net", "admin@nhs.net", "champ@nhs.net"])
def test_nobody_else_reaches_one_trainees_answers_by_any_route(app, trainee, client, login,
                                                               email):
    """Another coach, a programme lead and the champion, even while the trainee shares with
    their own coach: every route that takes an id, with the trainee's, the response's and the
    placement's, never shows an answer or the comment."""
    login(client, "tia@nhs.net")
    answer(client, comment="The department is chaotic", share="y")
    response_id = stored_response(app)["id"]
    other = app.test_client()
    assert login(other, email).status_code == 302
    values = {"response_id": response_id, "user_id": trainee["id"],
              "placement_id": trainee["placement_id"]}
    reached = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not set(rule.arguments) <= set(values) \
                or not rule.arguments:
            continue
        url = rule.build(values, append_unknown=False)[1]
        page = other.get(url)
        reached += 1
        assert "chaotic" not in page.text, url
        if rule.endpoint.startswith("workplace."):
            assert page.status_code in (403, 404), f"{url}: {page.status_code}"
    assert reached >= 3
    token = csrf_token(other.get("/", follow_redirects=True))
    refused = other.post(f"/portfolio/affordances/{response_id}/sharing",
                         data={"csrf_token": token, "share": "y"})
    assert refused.status_code in (403, 404)
    assert stored_response(app)["shared"]


def test_instruments_check_checks_it_too(runner, tmp_path):
    assert "affordances v1: Your placement and leadership (6 items" in runner.invoke(
        args=["instruments", "check"]).output
    shutil.copytree(SOURCE.parent.parent, tmp_path / "instruments")
    broken = tmp_path / "instruments" / "affordances" / "affordances.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "extra: 1\n", encoding="utf-8")
    result = runner.invoke(args=["instruments", "check", str(tmp_path / "instruments")])
    assert result.exit_code == 1 and "affordances.yaml" in result.output
    assert "unknown key 'extra'" in result.output


def test_a_missing_questionnaire_file_is_a_plain_error_page(app, trainee, client, login,
                                                            tmp_path):
    login(client, "tia@nhs.net")
    app.config["INSTRUMENTS_DIR"] = str(tmp_path)
    page = client.get("/portfolio/affordances/new")
    assert page.status_code == 503
    assert "The placement questions cannot be shown just now" in text_of(page)
    assert client.get("/portfolio/placements").status_code == 200
