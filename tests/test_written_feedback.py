"""Named written feedback on an activity (issue 13, point 3): the trainee asks an observer, the
observer follows the emailed link, saves, comes back, submits or declines; links that are
tampered, for another purpose, expired, used or withdrawn get the survey's pages; reminders are
spaced and idempotent; the feedback shows on the activity for the trainee and their coach.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from helpers import add_activity, csrf_token, path_of, text_of

from feedback360 import mail, tokens
from feedback360.config import ConfigurationError
from feedback360.extensions import db
from feedback360.models import ActivityFeedbackRequest, AuditEvent, CoachAssignment, User
from feedback360.services import clcf_framework, subject_access, written_feedback

OBSERVER = {"name": "Olu Observer", "email": "olu.observer@nhs.net",
            "role": "Consultant clinical scientist"}
SECRET_WORDS = "She kept the meeting to time and summarised the actions clearly."


@pytest.fixture
def people(app, make_user):
    trainee = make_user("tia.trainee@nhs.net", name="Tia Trainee")
    coach = make_user("cal.coach@nhs.net", role="coach", name="Cal Coach")
    other_coach = make_user("oz.coach@nhs.net", role="coach", name="Oz Coach")
    other_trainee = make_user("tom.trainee@nhs.net", name="Tom Trainee")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        activity_id = add_activity(trainee.id).id
        db.session.commit()
    return {"trainee": trainee, "coach": coach, "other_coach": other_coach,
            "other_trainee": other_trainee, "activity_id": activity_id}


def ask(client, activity_id: int, **changes: object):
    page = client.get(f"/activities/{activity_id}/written-feedback/new")
    assert page.status_code == 200, text_of(page)
    data = {**OBSERVER, "elements": ["self-awareness", "teams"],
            "message": "Please comment on how I chaired it.", **changes}
    return client.post(f"/activities/{activity_id}/written-feedback/new",
                       data={"csrf_token": csrf_token(page), **data})


def requested(app, smtp, client, activity_id: int, **changes: object) -> str:
    """Ask, and return the observer's link path from the captured email."""
    response = ask(client, activity_id, **changes)
    assert response.status_code == 302, text_of(response)
    email = str(changes.get("email", OBSERVER["email"]))
    [message] = smtp.wait_for(1) and smtp.messages_to(email)[-1:]
    [link] = smtp.links(message)
    return path_of(link)


def the_request(app) -> ActivityFeedbackRequest:
    with app.app_context():
        found = db.session.scalars(db.select(ActivityFeedbackRequest)).one()
        db.session.expunge(found)
        return found


def actions(app) -> list[tuple[str, dict | None]]:
    with app.app_context():
        return [(e.action, e.detail) for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action.like("written_feedback.%"))
            .order_by(AuditEvent.id))]


@pytest.fixture
def trainee_client(app, login, people):
    client = app.test_client()
    assert login(client, people["trainee"]).status_code == 302
    return client


# --- Asking -------------------------------------------------------------------------------------

def test_the_request_email_carries_a_named_notice_and_a_link(app, smtp, trainee_client,
                                                             people):
    path = requested(app, smtp, trainee_client, people["activity_id"])
    assert path.startswith("/o/")
    [message] = smtp.messages_to(OBSERVER["email"])
    body = message.get_body(("plain",)).get_content()
    assert "named, not anonymous" in body and "Tia Trainee" in body
    assert "Chaired the departmental audit meeting" in body
    saved = the_request(app)
    assert (saved.status, saved.observer_role) == ("sent", OBSERVER["role"])
    assert saved.element_keys == ["self-awareness", "teams"]
    assert actions(app) == [("written_feedback.requested",
                             {"activity_id": people["activity_id"], "elements": 2})]


@pytest.mark.parametrize(("changes", "message"), [
    ({"email": "Tia.Trainee+feedback@NHS.net"}, "You cannot ask yourself"),
    ({"email": "not an address"}, "correct format"),
    ({"name": " "}, "Enter the observer's name"),
    ({"elements": []}, "Select at least one element"),
    ({"elements": ["planning"]}, "Select elements of this activity"),
    ({"message": "x" * 1001}, "Message must be 1000 characters or fewer"),
    ({"name": "Bad\x00name"}, "null character"),
])
def test_a_request_is_refused_with_a_clear_message(app, trainee_client, people, changes,
                                                   message):
    response = ask(trainee_client, people["activity_id"], **changes)
    assert response.status_code == 400
    assert message in text_of(response)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ActivityFeedbackRequest.id))) == 0


def test_a_second_live_request_to_the_same_person_is_refused(app, smtp, trainee_client, people):
    requested(app, smtp, trainee_client, people["activity_id"])
    again = ask(trainee_client, people["activity_id"], email="Olu.Observer@nhs.net")
    assert again.status_code == 400
    assert "already been asked" in text_of(again)


def test_observers_outside_the_rater_domains_are_refused(make_app, make_user, login):
    app = make_app(RATER_EMAIL_DOMAINS="nhs.net")
    trainee = make_user("tia.trainee@nhs.net")
    with app.app_context():
        activity_id = add_activity(trainee.id).id
        db.session.commit()
    client = app.test_client()
    login(client, trainee)
    page = client.get(f"/activities/{activity_id}/written-feedback/new")
    assert "@nhs.net" in text_of(page)
    response = ask(client, activity_id, email="olu@gmail.com")
    assert response.status_code == 400
    assert "observers must be asked at their work address" in text_of(response)


# --- The observer's journey ---------------------------------------------------------------------

def open_link(client, path: str):
    exchanged = client.get(path)
    assert exchanged.status_code == 302, text_of(exchanged)
    return client.get(exchanged.headers["Location"])


def write(client, action: str = "continue", **boxes: str):
    page = client.get("/observer/feedback")
    assert page.status_code == 200, text_of(page)
    return client.post("/observer/feedback", data={"csrf_token": csrf_token(page),
                                                   "action": action, **boxes})


def test_the_observer_saves_comes_back_and_submits(app, smtp, trainee_client, people, login):
    path = requested(app, smtp, trainee_client, people["activity_id"])
    observer = app.test_client()
    welcome = open_link(observer, path)
    shown = text_of(welcome)
    assert "named, not anonymous" in shown
    assert "I chaired the monthly audit meeting" in shown
    with app.app_context():
        titles = [clcf_framework.elements_by_key()[key].title
                  for key in ("self-awareness", "teams")]
    assert all(title in shown for title in titles)
    assert the_request(app).status == "opened"

    saved = write(observer, "later", **{"self-awareness": SECRET_WORDS})
    assert saved.status_code == 302 and saved.location.endswith("/observer/saved")
    assert observer.get("/observer/saved").status_code == 200
    assert observer.get("/observer/feedback").status_code == 404  # this browser is out

    back = open_link(app.test_client(), path)  # the same link, another browser
    assert "Continue where you left off" in text_of(back)
    observer = app.test_client()
    open_link(observer, path)
    assert SECRET_WORDS in observer.get("/observer/feedback").text
    to_review = write(observer, **{"self-awareness": SECRET_WORDS, "teams": "",
                                   "overall": "A calm chair."})
    assert to_review.location.endswith("/observer/review")
    review = observer.get("/observer/review")
    assert SECRET_WORDS in review.text and "No comment" in text_of(review)
    sent = observer.post("/observer/submit", data={"csrf_token": csrf_token(review)})
    assert sent.location.endswith("/observer/thanks")
    assert observer.get("/observer/thanks").status_code == 200

    given = the_request(app)
    assert given.status == "given" and given.given_at is not None
    assert given.answers == {"self-awareness": SECRET_WORDS}
    used = app.test_client().get(path)
    assert used.status_code == 410 and "already given your feedback" in text_of(used)
    assert observer.post("/observer/submit", data={"csrf_token": csrf_token(review)}) \
        .status_code == 410
    assert [a for a, _ in actions(app)] == ["written_feedback.requested",
                                            "written_feedback.given"]
    assert SECRET_WORDS not in str(actions(app))

    # The trainee and their coach read it, named; another coach does not.
    for who, status in ((people["trainee"], 200), (people["coach"], 200),
                        (people["other_coach"], 404), (people["other_trainee"], 404)):
        client = app.test_client()
        login(client, who)
        page = client.get(f"/activities/{people['activity_id']}/written-feedback")
        assert page.status_code == status, who.email
        if status == 200:
            assert SECRET_WORDS in page.text and "Olu Observer, Consultant clinical" \
                in text_of(page) and "A calm chair." in page.text


def test_nothing_can_be_sent_empty(app, smtp, trainee_client, people):
    observer = app.test_client()
    open_link(observer, requested(app, smtp, trainee_client, people["activity_id"]))
    review = observer.get("/observer/review")
    assert "Write at least one comment" in text_of(review)
    refused = observer.post("/observer/submit", data={"csrf_token": csrf_token(
        observer.get("/observer/feedback"))})
    assert refused.status_code == 400 and the_request(app).status == "opened"


def test_the_observer_declines_and_the_reason_stays_out_of_the_audit(app, smtp, trainee_client,
                                                                     people):
    path = requested(app, smtp, trainee_client, people["activity_id"])
    observer = app.test_client()
    open_link(observer, path)
    page = observer.get("/observer/decline")
    reason = "I left before the actions were agreed"
    done = observer.post("/observer/decline", data={"csrf_token": csrf_token(page),
                                                    "reason": reason})
    assert done.location.endswith("/observer/declined")
    assert the_request(app).status == "declined"
    assert actions(app)[-1] == ("written_feedback.declined",
                                {"activity_id": people["activity_id"], "with_reason": True})
    again = app.test_client().get(path)
    assert again.status_code == 410 and "You declined this request" in text_of(again)
    assert reason in trainee_client.get(
        f"/activities/{people['activity_id']}/written-feedback").text


# --- Links that cannot be used ------------------------------------------------------------------

def _forged(app, purpose: str, request_id: int, nonce: str) -> str:
    with app.test_request_context():
        return "/o/" + tokens.issue(purpose, {"f": request_id, "n": nonce})


@pytest.mark.parametrize("problem", ["tampered", "wrong_purpose", "wrong_nonce", "junk"])
def test_links_that_are_not_valid_get_the_survey_page(app, smtp, trainee_client, people,
                                                      problem):
    path = requested(app, smtp, trainee_client, people["activity_id"])
    saved = the_request(app)
    bad = {"tampered": path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb"),
           "wrong_purpose": _forged(app, tokens.SURVEY_INVITATION, saved.id, saved.token_nonce),
           "wrong_nonce": _forged(app, tokens.WRITTEN_FEEDBACK, saved.id, "0" * 32),
           "junk": "/o/%00%01"}[problem]
    response = app.test_client().get(bad)
    assert response.status_code == 404
    assert "This link is not valid" in text_of(response)


def test_a_link_expires_and_sending_again_gives_a_fresh_one(app, smtp, trainee_client, people):
    path = requested(app, smtp, trainee_client, people["activity_id"])
    later = datetime.now(UTC) + timedelta(days=app.config["OBSERVER_LINK_MAX_AGE_DAYS"], hours=1)
    with time_machine.travel(later, tick=False):
        expired = app.test_client().get(path)
        assert expired.status_code == 410 and "This link has expired" in text_of(expired)
        assert "send the request again" in text_of(expired)
        with app.test_request_context():
            feedback = db.session.scalars(db.select(ActivityFeedbackRequest)).one()
            written_feedback.resend(feedback, feedback.activity.trainee)
            db.session.commit()
            mail.deliver_due()
        [fresh] = smtp.links(smtp.messages_to(OBSERVER["email"])[-1])
        assert path_of(fresh) != path
        assert app.test_client().get(path_of(fresh)).status_code == 302
        assert app.test_client().get(path).status_code == 410
    assert actions(app)[-1][0] == "written_feedback.resent"


def test_a_withdrawn_link_says_so(app, smtp, trainee_client, people):
    path = requested(app, smtp, trainee_client, people["activity_id"])
    saved = the_request(app)
    observer = app.test_client()
    open_link(observer, path)
    page = trainee_client.get(f"/activities/{people['activity_id']}/written-feedback")
    withdrawn = trainee_client.post(
        f"/activities/{people['activity_id']}/written-feedback/{saved.id}/withdraw",
        data={"csrf_token": csrf_token(page)})
    assert withdrawn.status_code == 302
    for client, url in ((observer, "/observer/feedback"), (app.test_client(), path)):
        response = client.get(url)
        assert response.status_code == 410 and "has been withdrawn" in text_of(response)
    assert actions(app)[-1][0] == "written_feedback.withdrawn"


# --- Reminders ----------------------------------------------------------------------------------

def remind(runner) -> int:
    """``flask send-observer-reminders``, as cron runs it; how many it queued."""
    result = runner.invoke(args=["send-observer-reminders"])
    assert result.exit_code == 0, result.output
    return int(result.output.split()[0])


def test_reminders_are_spaced_idempotent_and_limited(app, smtp, trainee_client, people,
                                                     runner):
    requested(app, smtp, trainee_client, people["activity_id"])
    gap = timedelta(days=app.config["OBSERVER_REMINDER_GAP_DAYS"])
    start = datetime.now(UTC)
    assert remind(runner) == 0  # too soon
    for number in (1, 2, 3):
        with time_machine.travel(start + number * (gap + timedelta(hours=1)), tick=False):
            expected = 1 if number <= app.config["OBSERVER_REMINDER_MAX"] else 0
            assert remind(runner) == expected
            assert remind(runner) == 0  # at once again: nothing new
            if number == 1:  # the reminder's own link works
                [link] = smtp.links(smtp.wait_for(2)[-1])
                assert app.test_client().get(path_of(link)).status_code == 302
    assert len(smtp.messages_to(OBSERVER["email"])) == 1 + app.config["OBSERVER_REMINDER_MAX"]
    reminder = smtp.messages_to(OBSERVER["email"])[-1]
    assert reminder["Subject"].startswith("Reminder:")
    assert the_request(app).reminder_count == app.config["OBSERVER_REMINDER_MAX"]
    assert [a for a, _ in actions(app)].count("written_feedback.reminded") == \
        app.config["OBSERVER_REMINDER_MAX"]


def test_nobody_who_answered_is_reminded(app, smtp, trainee_client, people, runner):
    path = requested(app, smtp, trainee_client, people["activity_id"])
    observer = app.test_client()
    open_link(observer, path)
    page = observer.get("/observer/decline")
    observer.post("/observer/decline", data={"csrf_token": csrf_token(page)})
    with time_machine.travel(datetime.now(UTC) + timedelta(days=20), tick=False):
        result = runner.invoke(args=["send-observer-reminders"])
    assert result.exit_code == 0 and "0 observer reminder(s) queued" in result.output


# --- Settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("settings", [
    {"OBSERVER_LINK_MAX_AGE_DAYS": 0}, {"OBSERVER_LINK_MAX_AGE_DAYS": "soon"},
    {"OBSERVER_REMINDER_GAP_DAYS": 91}, {"OBSERVER_REMINDER_MAX": -1},
    {"OBSERVER_REMINDER_MAX": True},
    {"OBSERVER_LINK_MAX_AGE_DAYS": 7, "OBSERVER_REMINDER_GAP_DAYS": 7},
])
def test_bad_observer_settings_stop_the_app(make_app, settings):
    with pytest.raises(ConfigurationError, match="OBSERVER_"):
        make_app(**settings)


@pytest.mark.parametrize(("who", "status"), [("trainee", 302), ("coach", 403)])
@pytest.mark.parametrize("action", ["resend", "withdraw"])
def test_only_the_trainee_sends_again_or_withdraws(app, smtp, login, people, trainee_client,
                                                   who, status, action):
    requested(app, smtp, trainee_client, people["activity_id"])
    client = app.test_client()
    login(client, people[who])
    base = f"/activities/{people['activity_id']}/written-feedback"
    page = client.get(base)
    assert ("Send again" in page.text) == (who == "trainee")
    response = client.post(f"{base}/{the_request(app).id}/{action}",
                           data={"csrf_token": csrf_token(page)})
    assert response.status_code == status
    emails = len(smtp.wait_for(2 if who == "trainee" and action == "resend" else 1))
    assert emails == (2 if who == "trainee" and action == "resend" else 1)
    assert client.get(f"{base}/new").status_code == (200 if who == "trainee" else 403)


def test_an_observers_subject_access_export_holds_what_they_wrote(app, smtp, trainee_client,
                                                                  people, make_user):
    path = requested(app, smtp, trainee_client, people["activity_id"])
    observer = app.test_client()
    open_link(observer, path)
    write(observer, "later", overall=SECRET_WORDS)
    admin = make_user("ada.admin@nhs.net", role="admin")
    with app.test_request_context():
        found = subject_access.export("Olu.Observer@nhs.net", by=db.session.get(User, admin.id))
    assert found.name == "Olu Observer"
    [held] = found.sections["written_feedback"]
    assert (held["activity"], held["overall"]) == ("Chaired the departmental audit meeting",
                                                   SECRET_WORDS)
