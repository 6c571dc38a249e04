"""The rater's journey: the emailed link, welcome, pages, resume, review, submit, decline.

A cycle is launched through the services; each rater's link is taken from the mail the real
SMTP server captured and followed with the test client, as a rater's browser would.
``launch_cycle`` and the page helpers are shared with the other survey test modules.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import csrf_token, path_of, sealed_answers

from feedback360.extensions import db
from feedback360.instruments import load_instrument
from feedback360.models import Invitation, Response, User
from feedback360.services import cycles

CLCF = load_instrument(Path(__file__).resolve().parent.parent / "instruments" / "clcf.yaml")
PAGE_KEYS = [tuple(item.key for item in domain.items) for domain in CLCF.domains]
DOMAINS = len(CLCF.domains)

# Ten colleagues, two of them in senior groups: what the CLCF's validity rule asks for.
RATERS = [
    ("Sam Supervisor", "sam.supervisor@nhs.net", "supervisor"),
    ("Selma Senior", "selma.senior@nhs.net", "senior"),
    ("Pat Peer", "pat.peer@nhs.net", "peer"),
    ("Priya Peer", "priya.peer@nhs.net", "peer"),
    ("Nell Nurse", "nell.nurse@nhs.net", "nursing"),
    ("Noor Nurse", "noor.nurse@nhs.net", "nursing"),
    ("Ade Physio", "ade.physio@nhs.net", "ahp"),
    ("Ali Scientist", "ali.scientist@nhs.net", "ahp"),
    ("Mo Manager", "mo.manager@nhs.net", "management"),
    ("Olu Other", "olu.other@nhs.net", "other"),
]


@dataclass
class Launched:
    cycle_id: int
    trainee_id: int
    links: dict[str, str]  # rater email -> /s/<token> path from the captured mail

    def invitation(self, email: str) -> Invitation:
        """The invitation (needs an app context)."""
        return db.session.scalar(db.select(Invitation).filter_by(cycle_id=self.cycle_id,
                                                                  rater_email=email))


def launch_cycle(app, smtp, trainee, raters=RATERS, *, deliver: bool = True) -> Launched:
    """Create, nominate and launch a CLCF cycle for ``trainee``; links from the mail sent."""
    from feedback360 import mail

    with app.test_request_context("/"):
        owner = db.session.get(User, trainee.id)
        cycle = cycles.create_cycle(owner, instrument_key="clcf", title="Spring 2026",
                                    closes_on=None)
        for name, email, group in raters:
            cycles.nominate(cycle, name=name, email=email, group=group)
        cycles.launch(cycle)
        db.session.commit()
        launched = Launched(cycle.id, owner.id, {})
        if deliver:
            report = mail.deliver_due()
            assert report.sent == len(raters), report
        db.session.remove()
    for message in smtp.messages:
        [link] = smtp.links(message)
        launched.links[message["To"].addresses[0].addr_spec] = path_of(link)
    return launched


def open_link(client, path: str):
    """Follow the emailed link: the redirect, then the welcome page."""
    exchanged = client.get(path)
    assert exchanged.status_code == 302, exchanged.text
    return client.get(exchanged.headers["Location"])


def save_page(client, n: int, answers: dict[str, str], action: str = "continue"):
    page = client.get(f"/survey/page/{n}")
    assert page.status_code == 200, page.text
    return client.post(f"/survey/page/{n}", data={
        "csrf_token": csrf_token(page), "action": action, **answers})


def save_comments(client, comments: dict[str, str], action: str = "continue"):
    page = client.get("/survey/comments")
    assert page.status_code == 200, page.text
    return client.post("/survey/comments", data={
        "csrf_token": csrf_token(page), "action": action, **comments})


def submit(client):
    review = client.get("/survey/review")
    token = csrf_token(review if "csrf_token" in review.text else client.get("/survey/page/1"))
    return client.post("/survey/submit", data={"csrf_token": token})


def answer_all(client, score: str = "4") -> None:
    for n, keys in enumerate(PAGE_KEYS, start=1):
        assert save_page(client, n, dict.fromkeys(keys, score)).status_code == 302


def words(response) -> str:
    """The page's visible text, whitespace collapsed, for matching wrapped sentences."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", response.text)).split())


def no_form(response) -> bool:
    return "<form" not in response.text and "<textarea" not in response.text


@pytest.fixture
def trainee(make_user):
    return make_user("alex.trainee@nhs.net", name="Alex Trainee", specialty="Medical Physics",
                     training_year=2)


@pytest.fixture
def launched(app, smtp, trainee) -> Launched:
    return launch_cycle(app, smtp, trainee)


SUPERVISOR, PEER, NURSE = "sam.supervisor@nhs.net", "pat.peer@nhs.net", "nell.nurse@nhs.net"


# --- The link ---------------------------------------------------------------------------------

def test_each_colleague_gets_one_link_that_is_exchanged_for_a_session(app, client, launched):
    assert sorted(launched.links) == sorted(email for _, email, _ in RATERS)
    path = launched.links[PEER]
    token = path.removeprefix("/s/")
    assert path.startswith("/s/") and len(token) > 20

    exchanged = client.get(path)
    assert exchanged.status_code == 302
    assert exchanged.headers["Location"] == "/survey"
    assert token not in exchanged.headers["Location"]
    assert exchanged.headers["Referrer-Policy"] == "no-referrer"
    assert exchanged.headers["Cache-Control"] == "no-store"

    welcome = client.get("/survey")
    assert welcome.status_code == 200
    assert welcome.headers["Referrer-Policy"] == "no-referrer"
    assert welcome.headers["Cache-Control"] == "no-store"
    assert token not in welcome.text
    with app.app_context():
        assert launched.invitation(PEER).status == "opened"
        assert launched.invitation(NURSE).status == "sent"


def test_every_survey_page_sends_no_referrer_and_no_store(client, launched):
    open_link(client, launched.links[PEER])
    for path in ["/survey", "/survey/page/1", "/survey/comments", "/survey/review",
                 "/survey/decline", "/survey/page/99", "/survey/thanks"]:
        response = client.get(path)
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        assert response.headers["Cache-Control"] == "no-store", path


def test_survey_pages_without_a_rater_session_say_to_use_the_email(client, launched):
    for path in ["/survey", "/survey/page/1", "/survey/review"]:
        response = client.get(path)
        assert response.status_code == 404
        assert "Open the link in your email" in response.text
        assert no_form(response)


# --- Welcome ----------------------------------------------------------------------------------

def test_welcome_says_who_asks_how_long_and_the_promise(client, launched):
    page = open_link(client, launched.links[PEER])
    text = words(page)
    assert "Alex Trainee has asked for your feedback" in text
    assert "a trainee in Medical Physics (year 2)" in text
    assert "You were asked as Fellow trainee" in text
    assert "About 10 minutes: 40 statements on 5 pages, then 2 optional comments" in text
    assert "Please answer by" in text
    assert "Your name is never shown next to your answers" in text
    assert "Where fewer than 3 people in a group answer" in text
    assert "Nobody sees any scores while feedback is being collected" in text
    assert "will not be anonymous" not in text
    assert 'href="/survey/page/1" role="button"' in page.text
    assert "Start" in text and "Continue where you left off" not in text
    assert '<a href="/survey/decline">I cannot give feedback</a>' in page.text


def test_welcome_warns_an_identifiable_group(client, launched):
    page = open_link(client, launched.links[SUPERVISOR])
    assert "Educational or clinical supervisor" in page.text
    assert "nhsuk-card--warning" in page.text  # the NHS warning callout
    assert "Your answers will not be anonymous" in words(page)
    assert "Alex Trainee will be able to tell that these answers are yours" in words(page)


# --- Pages, resume, review, submit ------------------------------------------------------------

def test_a_page_shows_progress_items_and_the_not_observed_choice(client, launched):
    open_link(client, launched.links[PEER])
    page = client.get("/survey/page/1")
    assert page.status_code == 200
    assert "Page 1 of 6" in page.text  # five domains and the comments page
    assert CLCF.domains[0].title in page.text
    for item in CLCF.domains[0].items:
        assert item.text in words(page)
        assert f'name="{item.key}"' in page.text
    assert page.text.count('type="radio"') == 6 * len(PAGE_KEYS[0])
    assert page.text.count('class="nhsuk-radios__divider"') == len(PAGE_KEYS[0])
    assert "Not observed / unable to comment" in page.text and "Almost always" in page.text
    assert "nhsuk-radios--inline" not in page.text
    assert "Save and continue" in page.text and "Save and come back later" in page.text
    comments = client.get("/survey/comments")
    assert "Page 6 of 6" in comments.text
    for n in (0, DOMAINS + 1, 99):
        assert client.get(f"/survey/page/{n}").status_code == 404


def test_answer_leave_resume_review_and_submit(app, make_app, client, launched):
    open_link(client, launched.links[PEER])
    first = save_page(client, 1, dict.fromkeys(PAGE_KEYS[0], "5") | {PAGE_KEYS[0][0]: "na"})
    assert first.headers["Location"] == "/survey/page/2"
    half = dict.fromkeys(PAGE_KEYS[1][:4], "3")
    later = save_page(client, 2, half, action="later")
    assert later.headers["Location"] == "/survey/saved"
    saved = client.get("/survey/saved")
    assert "Your answers have been saved" in saved.text
    assert "open the link in your email again" in saved.text.lower()
    assert "carry on answering</a>" not in saved.text
    # Saving for later ended the rater session in this browser: only the emailed link leads back.
    for path in ("/survey", "/survey/page/2", "/survey/review"):
        gone = client.get(path)
        assert gone.status_code == 404, path
        assert "open the link in your email to carry on" in gone.text.lower() and no_form(gone)
    assert client.get("/survey/saved").status_code == 200  # a refresh still explains itself

    # Another day, another browser: the same link brings the rater back to where they stopped.
    tomorrow = make_app().test_client()
    welcome = open_link(tomorrow, launched.links[PEER])
    assert "Continue where you left off" in welcome.text
    assert 'href="/survey/page/2"' in welcome.text
    page2 = tomorrow.get("/survey/page/2")
    assert page2.text.count(" checked") == 4  # the answers saved yesterday

    for n in range(3, DOMAINS + 1):
        assert save_page(tomorrow, n, dict.fromkeys(PAGE_KEYS[n - 1], "4")).status_code == 302
    to_review = save_comments(tomorrow, {"strengths": "Calm in a crisis.", "development": ""})
    assert to_review.headers["Location"] == "/survey/review"

    review = tomorrow.get("/survey/review")
    assert review.status_code == 200
    assert "You have not answered 4 statements. You can still submit" in words(review)
    assert "Calm in a crisis." in review.text and "No comment" in review.text
    for key in PAGE_KEYS[1][4:]:
        assert f'href="/survey/page/2#{key}"' in review.text
    assert "may not count" not in review.text  # 35 of 40 rated

    elsewhere = make_app().test_client()  # a third browser, open on the link meanwhile
    open_link(elsewhere, launched.links[PEER])
    done = submit(tomorrow)
    assert done.status_code == 302 and done.headers["Location"] == "/survey/thanks"
    thanks = tomorrow.get("/survey/thanks")
    assert thanks.status_code == 200 and "Thank you for your feedback" in thanks.text

    with app.app_context():
        # Sealed while the cycle is open: no readable response exists until it closes.
        assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0
        [response] = sealed_answers(launched.cycle_id)
        assert response["g"] == "peer"
        answers = response["answers"]
        assert answers[PAGE_KEYS[0][0]] == "na"  # "not observed"
        assert answers[PAGE_KEYS[0][1]] == 5
        assert all(answers[k] == 3 for k in PAGE_KEYS[1][:4])
        assert not set(PAGE_KEYS[1][4:]) & set(answers)
        assert len(answers) == 36
        assert response["comments"] == {"strengths": "Calm in a crisis."}
        invitation = launched.invitation(PEER)
        assert invitation.status == "completed" and invitation.draft is None

    # The third browser's session is still around: it, too, is told the answers are in.
    for _ in range(2):  # and keeps saying so, without looking the invitation up again
        stale = elsewhere.get("/survey/page/3")
        assert stale.status_code == 410 and "already given your feedback" in stale.text
        assert no_form(stale)


@pytest.mark.parametrize("save_for_later", [
    lambda client: save_page(client, 1, {PAGE_KEYS[0][0]: "4"}, action="later"),
    lambda client: save_comments(client, {"strengths": "Listens."}, action="later"),
], ids=["domain page", "comments page"])
def test_saving_for_later_ends_the_rater_session_in_this_browser(app, make_app, client,
                                                                launched, save_for_later):
    open_link(client, launched.links[PEER])
    assert save_for_later(client).headers["Location"] == "/survey/saved"
    saved = client.get("/survey/saved")
    assert "Please finish by" in saved.text and no_form(saved)
    assert client.get("/survey/review").status_code == 404
    # The emailed link still leads back, in this browser or any other, to what was saved.
    for browser in (client, make_app().test_client()):
        assert "Continue where you left off" in open_link(browser, launched.links[PEER]).text


def test_the_thank_you_page_and_a_second_submit(app, client, launched):
    open_link(client, launched.links[NURSE])
    answer_all(client)
    review = client.get("/survey/review")
    token = csrf_token(review)
    assert client.post("/survey/submit", data={"csrf_token": token}).status_code == 302
    assert client.get("/survey/thanks").status_code == 200

    again = client.post("/survey/submit", data={"csrf_token": token})
    assert again.status_code == 410
    assert "already given your feedback" in again.text and no_form(again)
    with app.app_context():
        assert len(sealed_answers()) == 1


def test_too_few_rated_statements_are_refused_and_declining_is_offered(app, client, launched):
    """Below the validity rule's minimum, a submit would be thanked and then never counted:
    it is refused with how many more are needed, the answers kept, and declining offered."""
    open_link(client, launched.links[PEER])
    save_page(client, 1, dict.fromkeys(PAGE_KEYS[0], "na") | {PAGE_KEYS[0][0]: "2"})
    review = client.get("/survey/review")
    assert "You have not answered 32 statements" in words(review)
    assert "still submit" not in words(review)  # there is no submit button to do it with
    assert "Rate 19 more statements to submit" in words(review)
    assert "only if at least 20 of the 40 statements are rated" in words(review)
    assert 'action="/survey/submit"' not in review.text
    decline_url = "/survey/decline?reason=not-seen-enough"
    assert f'href="{decline_url}"' in review.text

    token = csrf_token(client.get("/survey/page/1"))
    refused = client.post("/survey/submit", data={"csrf_token": token})
    assert refused.status_code == 400
    assert "Rate 19 more statements before you submit" in words(refused)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0
        assert launched.invitation(PEER).status == "opened"
    assert client.get("/survey/page/1").text.count(" checked") == len(PAGE_KEYS[0])

    decline_page = client.get(decline_url)
    assert "I have not seen enough of their work." in decline_page.text
    declined = client.post("/survey/decline", data={
        "csrf_token": csrf_token(decline_page), "reason": "I have not seen enough of their work."})
    assert declined.status_code == 302
    with app.app_context():
        assert launched.invitation(PEER).status == "declined"


def test_submitting_nothing_is_refused_on_the_review_page(app, client, launched):
    open_link(client, launched.links[PEER])
    review = client.get("/survey/review")
    assert "You have not answered any statements yet" in review.text
    token = csrf_token(client.get("/survey/page/1"))
    refused = client.post("/survey/submit", data={"csrf_token": token})
    assert refused.status_code == 400
    assert "Answer at least one question" in refused.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0
        assert launched.invitation(PEER).status == "opened"


# --- Links that no longer work ------------------------------------------------------------------

def assert_link_problem(client, path: str, status: int, message: str) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert message in response.text
    assert no_form(response)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # Plain words for a colleague: what happened and what to do, never a status code.
    assert "What you can do" in response.text
    assert "Error code" not in response.text and str(status) not in words(response)


def test_completed_declined_removed_closed_and_tampered_links(app, make_app, launched):
    completed = make_app().test_client()
    open_link(completed, launched.links[PEER])
    answer_all(completed)
    assert submit(completed).status_code == 302
    assert_link_problem(make_app().test_client(), launched.links[PEER], 410,
                        "You have already given your feedback")

    declined = make_app().test_client()
    open_link(declined, launched.links[NURSE])
    page = declined.get("/survey/decline")
    declined.post("/survey/decline", data={"csrf_token": csrf_token(page), "reason": ""})
    assert_link_problem(make_app().test_client(), launched.links[NURSE], 410,
                        "You declined this request")

    # Withdrawn while the colleague is half-way through: the very next page refuses.
    removed_path = launched.links["priya.peer@nhs.net"]
    midway = make_app().test_client()
    open_link(midway, removed_path)
    save_page(midway, 1, dict.fromkeys(PAGE_KEYS[0], "4"))
    with app.app_context():
        cycle = launched.invitation("priya.peer@nhs.net").cycle
        cycles.remove_invitation(cycle, launched.invitation("priya.peer@nhs.net").id)
        db.session.commit()
    assert_link_problem(midway, "/survey/page/2", 410, "This request has been withdrawn")
    assert_link_problem(midway, "/survey/review", 410, "This request has been withdrawn")
    assert_link_problem(make_app().test_client(), removed_path, 410,
                        "This request has been withdrawn")

    token = launched.links[SUPERVISOR].removeprefix("/s/")
    tampered = "/s/" + token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert_link_problem(make_app().test_client(), tampered, 404, "This link is not valid")
    assert_link_problem(make_app().test_client(), "/s/not-a-token", 404, "This link is not valid")

    open_before_close = make_app().test_client()
    open_link(open_before_close, launched.links[SUPERVISOR])
    with app.app_context():
        cycles.close_cycle(launched.invitation(SUPERVISOR).cycle, by=None)
        db.session.commit()
    assert_link_problem(open_before_close, "/survey/review", 410,
                        "This feedback request has closed")
    assert_link_problem(make_app().test_client(), launched.links[SUPERVISOR], 410,
                        "This feedback request has closed")


def test_a_closed_cycle_refuses_a_submit_from_an_open_page(app, client, launched):
    open_link(client, launched.links[PEER])
    answer_all(client)
    token = csrf_token(client.get("/survey/review"))
    with app.app_context():
        cycles.close_cycle(launched.invitation(PEER).cycle, by=None)
        db.session.commit()
    refused = client.post("/survey/submit", data={"csrf_token": token})
    assert refused.status_code == 410 and "has closed" in refused.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0
        assert launched.invitation(PEER).draft is None  # closing deleted the unfinished answers


# --- Declining ----------------------------------------------------------------------------------

def test_decline_with_a_reason(app, client, launched):
    open_link(client, launched.links[NURSE])
    save_page(client, 1, dict.fromkeys(PAGE_KEYS[0], "4"))
    page = client.get("/survey/decline")
    assert page.status_code == 200
    assert "This is not shown to Alex Trainee" in page.text
    too_long = client.post("/survey/decline", data={"csrf_token": csrf_token(page),
                                                    "reason": "x" * 4001})
    assert too_long.status_code == 400 and "4000 characters or fewer" in too_long.text
    done = client.post("/survey/decline", data={
        "csrf_token": csrf_token(page), "reason": "I only joined the team last week."})
    assert done.status_code == 302 and done.headers["Location"] == "/survey/declined"
    confirmation = client.get("/survey/declined")
    assert "You will not be contacted again" in confirmation.text
    with app.app_context():
        invitation = launched.invitation(NURSE)
        assert invitation.status == "declined"
        assert invitation.decline_reason == "I only joined the team last week."
        assert invitation.draft is None
        assert cycles.awaiting_answer(invitation.cycle).count(invitation) == 0
    after = client.get("/survey/page/1")
    assert after.status_code == 410 and "You declined this request" in after.text
