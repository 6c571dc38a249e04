"""The trainee's self-assessment: the survey's pages about themself, never counted as a rater."""

from __future__ import annotations

import pytest
from helpers import csrf_token
from test_survey import PAGE_KEYS, launch_cycle, words

from feedback360.extensions import db
from feedback360.models import FeedbackCycle, Response, User
from feedback360.services import cycles

DOMAINS = len(PAGE_KEYS)


@pytest.fixture
def trainee(make_user):
    return make_user("tara.trainee@nhs.net", name="Tara Trainee", specialty="Genomics")


@pytest.fixture
def cycle_id(app, trainee) -> int:
    with app.test_request_context("/"):
        cycle = cycles.create_cycle(db.session.get(User, trainee.id), instrument_key="clcf",
                                    title="Autumn 2026", closes_on=None)
        db.session.commit()
        return cycle.id


@pytest.fixture
def signed_in(client, login, trainee):
    assert login(client, trainee).status_code == 302
    return client


def save(client, cycle_id: int, n: int, answers: dict[str, str], action: str = "continue"):
    path = f"/cycles/{cycle_id}/self/page/{n}"
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_token(page), "action": action, **answers})


def self_draft(app, cycle_id: int):
    with app.app_context():
        return db.session.get(FeedbackCycle, cycle_id).self_draft


def test_pages_resume_review_and_submit(app, signed_in, cycle_id):
    client, base = signed_in, f"/cycles/{cycle_id}/self"
    first = client.get(f"{base}/page/1")
    assert first.status_code == 200
    text = words(first)
    assert "Your self-assessment" in text and f"Page 1 of {DOMAINS}" in text
    assert "choose how often you do this" in text and "Feedback for" not in text
    assert first.text.count('type="radio"') == 6 * len(PAGE_KEYS[0])

    moved = save(client, cycle_id, 1, dict.fromkeys(PAGE_KEYS[0], "4") | {PAGE_KEYS[0][0]: "na"})
    assert moved.headers["Location"] == f"{base}/page/2"
    later = save(client, cycle_id, 2, dict.fromkeys(PAGE_KEYS[1][:5], "2"), action="later")
    with app.test_request_context():
        from flask import url_for

        cycle_page = url_for("trainee.cycle", cycle_id=cycle_id)
    assert later.headers["Location"] == cycle_page

    resumed = client.get(base)
    assert resumed.status_code == 302 and resumed.headers["Location"] == f"{base}/page/2"
    assert client.get(f"{base}/page/2").text.count(" checked") == 5

    for n in range(3, DOMAINS + 1):
        done = save(client, cycle_id, n, dict.fromkeys(PAGE_KEYS[n - 1], "3"))
    assert done.headers["Location"] == f"{base}/review"
    assert client.get(base).headers["Location"] == f"{base}/page/2"  # still 3 unanswered there

    review = client.get(f"{base}/review")
    assert review.status_code == 200
    text = words(review)
    assert "You have not answered 3 statements" in text
    assert "Your comments" not in text and "Submit self-assessment" in text
    assert "may not count" not in text  # raters' validity rule, not the trainee's

    submitted = client.post(f"{base}/submit", data={"csrf_token": csrf_token(review)})
    assert submitted.status_code == 302 and submitted.headers["Location"] == cycle_page
    with app.app_context():
        [response] = db.session.scalars(db.select(Response)).all()
        assert response.is_self and response.rater_group is None
        answers = {a.item_key: a.score for a in response.answers}
        assert len(answers) == len(PAGE_KEYS) * len(PAGE_KEYS[0]) - 3
        assert answers[PAGE_KEYS[0][0]] is None and answers[PAGE_KEYS[0][1]] == 4
        cycle = db.session.get(FeedbackCycle, cycle_id)
        assert cycle.self_draft is None
        assert db.session.scalar(db.select(FeedbackCycle.id).where(
            FeedbackCycle.id == cycle_id, FeedbackCycle.self_draft.is_(None))) == cycle_id
        assert cycles.response_counts(cycle) == {}  # never counted as a rater

    for again in (client.get(f"{base}/page/1"), client.get(f"{base}/review"),
                  client.post(f"{base}/submit", data={"csrf_token": csrf_token(review)})):
        assert again.status_code == 409
        assert "You have already submitted your self-assessment" in again.text
        assert "Save and continue" not in again.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 1


def test_the_flash_after_saving_for_later_and_submitting(app, signed_in, cycle_id):
    save(signed_in, cycle_id, 1, dict.fromkeys(PAGE_KEYS[0], "5"), action="later")
    with signed_in.session_transaction() as session:
        assert any("self-assessment is saved" in message
                   for _, message in session.get("_flashes", []))


def test_out_of_range_pages_are_not_found(signed_in, cycle_id):
    for n in (0, DOMAINS + 1):
        assert signed_in.get(f"/cycles/{cycle_id}/self/page/{n}").status_code == 404
    assert signed_in.get("/cycles/999999/self/page/1").status_code == 404


def test_forged_answers_are_refused_and_the_draft_is_unchanged(app, signed_in, cycle_id):
    save(signed_in, cycle_id, 1, {PAGE_KEYS[0][0]: "2"})
    before = self_draft(app, cycle_id)
    for forged in ({PAGE_KEYS[0][1]: "6"}, {PAGE_KEYS[0][1]: "x"}, {"made-up": "3"}):
        refused = save(signed_in, cycle_id, 1, forged)
        assert refused.status_code == 400
        assert self_draft(app, cycle_id) == before


def test_submitting_nothing_is_refused(app, signed_in, cycle_id):
    token = csrf_token(signed_in.get(f"/cycles/{cycle_id}/self/page/1"))
    refused = signed_in.post(f"/cycles/{cycle_id}/self/submit", data={"csrf_token": token})
    assert refused.status_code == 400
    assert "Answer at least one question" in refused.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0


def test_another_trainee_a_coach_and_a_visitor_are_kept_out(app, make_app, login, make_user,
                                                           cycle_id):
    base = f"/cycles/{cycle_id}/self"
    other = make_app().test_client()
    login(other, make_user(role="trainee"))
    for path in (base, f"{base}/page/1", f"{base}/review"):
        assert other.get(path).status_code == 404, path
    token = csrf_token(other.get("/cycles/"))  # the header's sign-out form
    assert other.post(f"{base}/submit", data={"csrf_token": token}).status_code == 404

    coach = make_app().test_client()
    login(coach, make_user(role="coach"))
    assert coach.get(f"{base}/page/1").status_code == 403

    visitor = make_app().test_client()
    bounced = visitor.get(f"{base}/page/1")
    assert bounced.status_code == 302 and "/auth/login" in bounced.headers["Location"]


def test_allowed_while_open_and_closed_with_the_cycle(app, smtp, signed_in, trainee):
    launched = launch_cycle(app, smtp, trainee)
    base = f"/cycles/{launched.cycle_id}/self"
    assert save(signed_in, launched.cycle_id, 1,
                dict.fromkeys(PAGE_KEYS[0], "3")).status_code == 302
    with app.app_context():
        cycles.close_cycle(db.session.get(FeedbackCycle, launched.cycle_id), by=None)
        db.session.commit()
    for path in (base, f"{base}/page/1", f"{base}/review"):
        closed = signed_in.get(path)
        assert closed.status_code == 410, path
        assert "The self-assessment has closed" in closed.text
        assert "Save and continue" not in closed.text


def test_the_pages_speak_to_the_trainee_in_the_first_person(signed_in, cycle_id):
    """Issue 12, point 7: "I ask colleagues for feedback on my own practice", never "their own
    practice" or "How the trainee...", and no "Not observed" about oneself."""
    base = f"/cycles/{cycle_id}/self"
    first = signed_in.get(f"{base}/page/1")
    text = words(first)
    assert "I ask colleagues for feedback on my own practice." in text
    assert "How I understand and manage myself, keep learning and act with honesty." in text
    assert "Not had the chance to do this yet" in text
    for third_person in ("their own practice", "How the trainee", "Not observed"):
        assert third_person not in text, third_person
    save(signed_in, cycle_id, 1, {PAGE_KEYS[0][0]: "na", PAGE_KEYS[0][1]: "4"})
    review = words(signed_in.get(f"{base}/review"))
    assert "I ask colleagues for feedback on my own practice. Not had the chance to do this " \
           "yet" in review
    assert "their own practice" not in review and "Not observed" not in review
