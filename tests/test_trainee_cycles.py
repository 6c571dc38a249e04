"""The trainee's side of a feedback cycle (issue 3, points 1-6), driven through the HTTP client:
create, nominate, launch, follow the counts, remind, close; and who may reach any of it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import (
    ENOUGH,
    add_sealed_response,
    colleagues,
    csrf_token,
    form_fields,
    launch,
    message_html,
    message_text,
    new_cycle,
    nominate,
    paste,
    path_of,
    post,
    ready_cycle,
    start_cycle,
    text_of,
)

from feedback360.extensions import db
from feedback360.models import FeedbackCycle, Invitation, OutboxMessage, Response, User
from feedback360.services import cycles as cycle_service
from feedback360.services.instrument_cache import instrument_for
from feedback360.services.surveys import Draft, keep_draft

STATUS_WORDS = ("complete", "responded", "answered", "opened", "declined", "remind", "sent",
                "pending", "waiting")


@pytest.fixture
def trainee(make_user):
    return make_user("tara.trainee@nhs.net", name="Tara Trainee", specialty="Medical Physics",
                     training_year=2)


@pytest.fixture
def browser(client, trainee, login):
    """The trainee's signed-in test client."""
    assert login(client, trainee).status_code == 302
    return client


# --- Helpers: each does what a person would do in a browser --------------------------------------

def table_rows(response) -> list[str]:
    """The HTML of each body row of the page's tables."""
    return re.findall(r'<tr class="nhsuk-table__row">.*?</tr>', response.text, re.S)


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def date_fields(day: date) -> dict[str, str]:
    return {"closes_on-day": str(day.day), "closes_on-month": str(day.month),
            "closes_on-year": str(day.year)}


def open_cycle(client, smtp) -> int:
    cycle_id = ready_cycle(client)
    assert launch(client, cycle_id).status_code == 302
    smtp.clear()
    return cycle_id


def cycle_row(app, cycle_id: int) -> FeedbackCycle:
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        db.session.expunge(cycle)
        return cycle


def invitations(app, cycle_id: int) -> dict[str, Invitation]:
    """The cycle's invitations by email, detached."""
    with app.app_context():
        rows = db.session.scalars(db.select(Invitation).filter_by(cycle_id=cycle_id)).all()
        for row in rows:
            db.session.expunge(row)
        return {row.rater_email: row for row in rows}


def update_invitation(app, email: str, **values: object) -> None:
    with app.app_context():
        invitation = db.session.scalar(db.select(Invitation).filter_by(rater_email=email))
        for name, value in values.items():
            setattr(invitation, name, value)
        db.session.commit()


def add_responses(app, cycle_id: int, *groups: str) -> None:
    """Answers as the survey stores them while the cycle is open: one sealed row per rater,
    every item rated."""
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        items = instrument_for(cycle).item_keys
        for group in groups:
            add_sealed_response(cycle_id, group, dict.fromkeys(items, 4))
        db.session.commit()


def complete(app, cycle_id: int, email: str, group: str) -> None:
    """A colleague answers: their invitation turns completed and an unlinked sealed row
    appears."""
    update_invitation(app, email, status="completed", completed_on=date.today(), draft=None)
    add_responses(app, cycle_id, group)


def flash_after(client, response) -> str:
    assert response.status_code == 302, text_of(response)
    return text_of(client.get(response.location))


# --- The list ------------------------------------------------------------------------------------

def test_empty_list_explains_a_360_and_the_steps(browser):
    page = text_of(browser.get("/cycles/"))
    assert "You have no feedback cycles yet" in page
    assert "Start a new feedback cycle" in page
    assert "Rate yourself on the same statements" in page
    assert "At least 10 colleagues must respond" in page


def test_list_shows_state_and_a_response_count_only_once_open(app, browser, smtp):
    open_id = open_cycle(browser, smtp)
    # A second cycle beside one in progress is made only when asked for (test_cycle_starts.py).
    draft_id = new_cycle(browser, title="Still a draft", another="y")
    add_responses(app, open_id, "peer", "peer", "senior")

    page = browser.get("/cycles/")
    [draft_row, open_row] = [text_of(row) for row in table_rows(page)]  # newest first
    assert draft_row.startswith("Title Still a draft")
    assert draft_row.endswith("Status Draft Closing date " + long_date(
        cycle_row(app, draft_id).closes_on) + " Responses Not launched")
    assert "Questionnaire Clinical Leadership Competency Framework 360" in open_row
    assert "Status Open" in open_row and open_row.endswith("Responses 3")
    assert f'href="/cycles/{draft_id}"' in page.text and f'href="/cycles/{open_id}"' in page.text


# --- Creating a cycle ----------------------------------------------------------------------------

def test_new_cycle_form_defaults_and_states_each_rule(browser):
    page = browser.get("/cycles/new")
    fields = form_fields(page, action="/cycles/new")
    closes = cycle_service.today() + timedelta(weeks=cycle_service.DEFAULT_WEEKS_OPEN)
    assert fields["instrument"] == "clcf"
    assert fields["title"] == f"Leadership feedback {cycle_service.today():%B %Y}"
    assert {k: fields[k] for k in date_fields(closes)} == date_fields(closes)
    text = text_of(page)
    for title in ("Clinical Leadership Competency Framework 360", "clinical and scientific"):
        assert title.casefold() in text.casefold()
    assert text.count("At least 10 colleagues must respond, including at least 2 senior "
                      "colleagues") == 2
    assert '<legend class="nhsuk-fieldset__legend' in page.text  # radios and date in fieldsets


def test_create_cycle_with_the_defaults(app, browser):
    cycle_id = new_cycle(browser)
    cycle = cycle_row(app, cycle_id)
    assert cycle.status == "draft"
    assert cycle.closes_on == cycle_service.today() + timedelta(weeks=6)
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert f"Leadership feedback {cycle_service.today():%B %Y}" in page
    assert "Draft" in page and "created" in page  # the success flash
    assert "0 of 10 colleagues nominated" in page


def test_last_allowed_closing_date_is_accepted(app, browser):
    last = cycle_service.today() + timedelta(days=cycle_service.MAX_DAYS_OPEN)
    cycle_id = new_cycle(browser, title="Long one", instrument="clcf-enhanced",
                         **date_fields(last))
    cycle = cycle_row(app, cycle_id)
    assert (cycle.closes_on, cycle.title) == (last, "Long one")


@pytest.mark.parametrize(("changes", "message"), [
    (date_fields(date.today() - timedelta(days=1)), "The closing date must be in the future"),
    (date_fields(date.today()), "The closing date must be in the future"),
    (date_fields(date.today() + timedelta(days=91)), "The closing date must be within 90 days"),
    ({"closes_on-day": "31", "closes_on-month": "2", "closes_on-year": "2030"},
     "Closing date must be a real date"),
    ({"closes_on-day": "", "closes_on-month": "3"}, "Closing date must include a day"),
    ({"closes_on-day": "", "closes_on-month": "", "closes_on-year": ""},
     "Enter the closing date"),
    ({"instrument": "not-a-questionnaire"}, "Select a questionnaire"),
    ({"instrument": ""}, "Select a questionnaire"),
], ids=["past", "today", "over-90-days", "not-a-date", "no-day", "blank", "unknown-instrument",
        "no-instrument"])
def test_create_cycle_refusals(app, browser, changes, message):
    response = start_cycle(browser, **changes)
    assert response.status_code == 400
    assert "There is a problem" in response.text and message in text_of(response)
    assert "<title>Error:" in response.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(FeedbackCycle)) == 0


# --- Nominating ----------------------------------------------------------------------------------

def test_nominate_one_colleague(app, browser):
    cycle_id = new_cycle(browser)
    response = nominate(browser, cycle_id, "  Sam   Patel ", "Sam.Patel@NHS.net", "peer")
    assert response.location.endswith(f"/cycles/{cycle_id}#nominees")
    page = flash_after(browser, response)
    assert "Sam Patel added" in page
    assert "Name Sam Patel Email sam.patel@nhs.net Group Fellow trainee" in page
    [invitation] = invitations(app, cycle_id).values()
    assert (invitation.rater_name, invitation.rater_group, invitation.status) == \
        ("Sam Patel", "peer", "pending")


@pytest.mark.parametrize(("name", "email", "group", "message", "field"), [
    ("Bad Email", "not-an-email", "peer", "Enter an email address in the correct format",
     "email"),
    ("Sam Again", "SAM.PATEL@nhs.net", "senior", "sam.patel@nhs.net is already nominated",
     "email"),
    ("Me", "Tara.Trainee@NHS.net", "peer", "You cannot nominate yourself", "email"),
    ("Who", "who@nhs.net", "surgeon", "Unknown group 'surgeon'. Use one of: Educational",
     "group"),
    ("", "nameless@nhs.net", "peer", "Enter the colleague's name", "name"),
    ("No Group", "nogroup@nhs.net", "", "Select how this colleague works with you", "group"),
], ids=["invalid-email", "duplicate", "own-email", "unknown-group", "no-name", "no-group"])
def test_nominate_refusals(app, browser, name, email, group, message, field):
    cycle_id = new_cycle(browser)
    nominate(browser, cycle_id, "Sam Patel", "sam.patel@nhs.net", "peer")
    response = nominate(browser, cycle_id, name, email, group)
    assert response.status_code == 400
    assert message in text_of(response)
    assert f'href="#{field}"' in response.text  # the error summary leads to the field
    assert list(invitations(app, cycle_id)) == ["sam.patel@nhs.net"]


def test_paste_keeps_good_lines_and_reports_each_bad_one(app, browser):
    cycle_id = new_cycle(browser)
    lines = [
        "Sam Patel, sam.patel@nhs.net, peer",
        "Bad Email, not-an-email, peer",
        "",
        "Sam Twice, SAM.patel@nhs.net, senior",
        "Me Myself, tara.trainee@nhs.net, peer",
        "Who Knows, who@nhs.net, surgeon",
        "Only two, parts",
        "Nia Nurse\tnia@nhs.net\tNurse or midwife",
    ]
    response = paste(browser, cycle_id, lines)

    assert response.status_code == 400
    page = text_of(response)
    assert "2 colleagues added" in page
    for expected in ("Line 2: Enter an email address in the correct format",
                     "Line 4: sam.patel@nhs.net is already nominated",
                     "Line 5: You cannot nominate yourself",
                     "Line 6: Unknown group 'surgeon'",
                     "Line 7: Write each colleague as: name, email, group"):
        assert expected in page
    kept = form_fields(response, action="/nominees/bulk")["colleagues"]
    assert kept.splitlines() == [lines[1], *lines[3:7]]
    assert sorted(invitations(app, cycle_id)) == ["nia@nhs.net", "sam.patel@nhs.net"]
    assert invitations(app, cycle_id)["nia@nhs.net"].rater_group == "nursing"


def test_paste_of_only_good_lines_redirects(app, browser):
    cycle_id = new_cycle(browser)
    page = flash_after(browser, paste(browser, cycle_id, colleagues(3, "peer")))
    assert "3 colleagues added" in page
    assert len(invitations(app, cycle_id)) == 3


def test_checklist_and_launch_refused_until_the_rule_is_met(app, browser, smtp):
    cycle_id = new_cycle(browser)
    paste(browser, cycle_id, [*colleagues(1, "senior"), *colleagues(7, "peer")])
    page = browser.get(f"/cycles/{cycle_id}")
    assert "8 of 10 colleagues nominated" in text_of(page)
    assert "1 of 2 senior colleagues" in text_of(page)
    assert "disabled" in page.text and "Cannot start yet" in text_of(page)

    refused = browser.get(f"/cycles/{cycle_id}/launch")
    assert "Nominate enough colleagues" in flash_after(browser, refused)
    assert "Nominate enough colleagues" in flash_after(browser, launch(browser, cycle_id))
    assert cycle_row(app, cycle_id).status == "draft"
    assert smtp.messages == []

    paste(browser, cycle_id, [*colleagues(1, "supervisor"), *colleagues(1, "peer", start=8)])
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "10 colleagues nominated (at least 10 needed)" in page
    assert "2 senior colleagues (at least 2 needed)" in page
    assert "Review and launch" in page


@pytest.mark.parametrize(("progress", "status", "linked"), [
    (None, "Not started", True),
    ("draft", "In progress", True),
    ("submitted", "Completed", False),
])
def test_self_assessment_step_shows_how_far_it_has_got(app, browser, progress, status, linked):
    cycle_id = new_cycle(browser)
    with app.app_context():
        if progress == "draft":
            db.session.get(FeedbackCycle, cycle_id).self_draft = {"answers": {"pq-sa-1": 4}}
        if progress == "submitted":
            db.session.add(Response(cycle_id=cycle_id, rater_group=None, is_self=True))
        db.session.commit()
    page = browser.get(f"/cycles/{cycle_id}")
    first_step = re.search(r'<li class="nhsuk-task-list__item.*?</li>', page.text, re.S).group()
    assert "Rate yourself" in first_step and status in text_of(first_step)
    link = f"/cycles/{cycle_id}/self/page/1"
    assert (link in first_step) is linked
    if linked:
        assert browser.get(link).status_code == 200


@pytest.mark.parametrize(("count", "warned"), [(25, False), (26, True)])
def test_warning_past_twenty_five_nominees(browser, count, warned):
    cycle_id = new_cycle(browser)
    paste(browser, cycle_id, colleagues(count, "peer"))
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert ("more than 25 colleagues" in page) is warned


# --- Launching -----------------------------------------------------------------------------------

def test_launch_asks_for_confirmation_then_emails_each_nominee(app, browser, smtp, trainee):
    cycle_id = ready_cycle(browser)
    confirm = browser.get(f"/cycles/{cycle_id}/launch")
    assert confirm.status_code == 200
    assert "Supervisor Colleague 1" in text_of(confirm)
    assert "Launch and send 10 invitations" in text_of(confirm)
    assert smtp.messages == []

    page = flash_after(browser, launch(browser, cycle_id))
    assert "Your feedback cycle is open. We are emailing 10 colleagues now." in page
    cycle = cycle_row(app, cycle_id)
    assert cycle.status == "open" and cycle.opens_on == cycle_service.today()

    assert sorted(m["To"] for m in smtp.messages) == sorted(invitations(app, cycle_id))
    with app.app_context():
        outbox = db.session.scalars(db.select(OutboxMessage)).all()
        assert len(outbox) == 10 and {m.status for m in outbox} == {"sent"}
    closes = f"{cycle.closes_on.day} {cycle.closes_on:%B %Y}"
    for message in smtp.messages:
        text, body = message_text(message), message_html(message)
        assert message["Subject"] == "Tara Trainee asks for your feedback on their leadership"
        [link] = smtp.links(message)
        assert "/s/" in link and link in body
        assert closes in text and closes in body
        promise = "Your answers are confidential"
        identifiable = "your answers are shown to Tara Trainee as your own, not anonymously"
        if message["To"] == "supervisor1@nhs.net":
            assert identifiable in text and identifiable in body and promise not in text
        else:
            assert promise in text and promise in body and identifiable not in text


def test_launch_twice_sends_nothing_more(app, browser, smtp):
    cycle_id = open_cycle(browser, smtp)
    assert "already been launched" in flash_after(browser, launch(browser, cycle_id))
    assert "already been launched" in flash_after(
        browser, browser.get(f"/cycles/{cycle_id}/launch"))
    assert smtp.messages == []


def test_launch_refused_once_the_closing_date_has_passed(app, browser, smtp):
    cycle_id = ready_cycle(browser)
    with app.app_context():
        db.session.get(FeedbackCycle, cycle_id).closes_on = date.today() - timedelta(days=1)
        db.session.commit()
    assert "must be in the future" in flash_after(browser, launch(browser, cycle_id))
    assert cycle_row(app, cycle_id).status == "draft" and smtp.messages == []


# --- While open ----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["one", "paste"])
def test_colleague_added_to_an_open_cycle_is_emailed_at_once(app, browser, smtp, how):
    cycle_id = open_cycle(browser, smtp)
    if how == "one":
        response = nominate(browser, cycle_id, "Late Comer", "late@nhs.net", "nursing")
    else:
        response = paste(browser, cycle_id, ["Late Comer, late@nhs.net, nursing"])
    assert "emailed" in flash_after(browser, response)
    [message] = smtp.messages
    assert message["To"] == "late@nhs.net" and smtp.links(message)
    assert invitations(app, cycle_id)["late@nhs.net"].status == "sent"


def test_removing_a_nominee_from_a_draft_deletes_the_row(app, browser):
    cycle_id = new_cycle(browser)
    paste(browser, cycle_id, colleagues(2, "peer"))
    gone = invitations(app, cycle_id)["peer1@nhs.net"]
    page = flash_after(browser, post(browser, f"/cycles/{cycle_id}",
                                     f"/cycles/{cycle_id}/nominees/{gone.id}/remove"))
    assert "Peer Colleague 1 removed" in page and "peer1@nhs.net" not in page
    assert list(invitations(app, cycle_id)) == ["peer2@nhs.net"]


def test_removing_a_nominee_from_an_open_cycle_explains_and_keeps_them_off_the_list(
        app, browser, smtp):
    cycle_id = open_cycle(browser, smtp)
    gone = invitations(app, cycle_id)["peer1@nhs.net"]
    page = flash_after(browser, post(browser, f"/cycles/{cycle_id}",
                                     f"/cycles/{cycle_id}/nominees/{gone.id}/remove"))
    assert "Their link no longer works" in page and "stay in the report" in page
    assert "peer1@nhs.net" not in page
    assert invitations(app, cycle_id)["peer1@nhs.net"].removed_at is not None


def test_removing_a_colleague_part_way_through_discards_their_draft(app, browser, smtp):
    cycle_id = open_cycle(browser, smtp)
    with app.app_context():
        invitation = db.session.scalar(db.select(Invitation).filter_by(rater_email="peer1@nhs.net"))
        invitation.status = "opened"
        keep_draft(invitation, Draft({"pq-sa-1": 3}, {}))
        db.session.commit()
    gone = invitations(app, cycle_id)["peer1@nhs.net"]
    response = post(browser, f"/cycles/{cycle_id}", f"/cycles/{cycle_id}/nominees/{gone.id}/remove")
    assert "Their link no longer works" in flash_after(browser, response)
    assert invitations(app, cycle_id)["peer1@nhs.net"].draft is None


def test_removing_someone_not_on_the_cycle_is_refused(browser):
    cycle_id = new_cycle(browser)
    response = post(browser, f"/cycles/{cycle_id}", f"/cycles/{cycle_id}/nominees/999/remove")
    assert "That colleague is not on this cycle" in flash_after(browser, response)


def test_removed_colleagues_link_stops_working(app, browser, smtp):
    cycle_id = ready_cycle(browser)
    launch(browser, cycle_id)
    [message] = smtp.messages_to("peer1@nhs.net")
    link = path_of(smtp.links(message)[0])
    assert app.test_client().get(link, follow_redirects=True).status_code == 200
    gone = invitations(app, cycle_id)["peer1@nhs.net"]
    post(browser, f"/cycles/{cycle_id}", f"/cycles/{cycle_id}/nominees/{gone.id}/remove")
    assert app.test_client().get(link, follow_redirects=True).status_code == 410


def test_status_page_shows_counts_and_nothing_about_any_one_colleague(app, browser, smtp):
    cycle_id = open_cycle(browser, smtp)
    complete(app, cycle_id, "senior1@nhs.net", "senior")
    complete(app, cycle_id, "peer1@nhs.net", "peer")
    update_invitation(app, "peer2@nhs.net", status="declined", decline_reason="On leave")
    update_invitation(app, "peer3@nhs.net", status="opened", reminded_count=2)

    response = browser.get(f"/cycles/{cycle_id}")
    page = text_of(response)
    assert "2 of 10 colleagues answered" in page
    # One consultant asked: whether the senior part is met would say whether they answered.
    assert "At least 2 senior colleagues Not shown: you asked fewer than 3" in page
    # No count per group: set against the report's own grouping, it could single one out.
    assert "Responses by group" not in page
    assert "1 colleague has said they cannot give feedback" in page
    assert "On leave" not in page

    rows = {}
    for email, invitation in invitations(app, cycle_id).items():
        [row] = [r for r in table_rows(response) if email in r]
        assert not any(word in row.casefold() for word in STATUS_WORDS), row
        # With who they are taken out, every row is the same: nothing else can tell them apart.
        for personal in (invitation.rater_name, email, f"/nominees/{invitation.id}/",
                         instrument_group_label(app, cycle_id, invitation.rater_group)):
            row = row.replace(personal, "")
        rows[email] = row
    assert len(set(rows.values())) == 1


def instrument_group_label(app, cycle_id: int, key: str) -> str:
    with app.app_context():
        return instrument_for(db.session.get(FeedbackCycle, cycle_id)).group(key).label


def test_remind_at_most_once_every_three_days(app, browser, smtp):
    cycle_id = open_cycle(browser, smtp)
    complete(app, cycle_id, "peer1@nhs.net", "peer")
    update_invitation(app, "peer2@nhs.net", status="declined")
    remind = f"/cycles/{cycle_id}/remind"

    page = flash_after(browser, post(browser, f"/cycles/{cycle_id}", remind))
    assert "emailed a reminder to the colleagues who have not answered" in page
    assert len(smtp.messages) == 8
    assert {m["Subject"] for m in smtp.messages} == {
        "Reminder: Tara Trainee would value your feedback"}
    assert not smtp.messages_to("peer1@nhs.net") and not smtp.messages_to("peer2@nhs.net")
    assert "You can send reminders again from" in page
    assert "You last sent reminders on" in page

    smtp.clear()
    assert "You sent reminders recently" in flash_after(
        browser, post(browser, f"/cycles/{cycle_id}", remind))
    assert smtp.messages == []

    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        cycle.last_trainee_reminder_at = datetime.now(UTC) - timedelta(days=3, minutes=1)
        db.session.commit()
    assert "Remind those who have not answered" in text_of(browser.get(f"/cycles/{cycle_id}"))
    post(browser, f"/cycles/{cycle_id}", remind)
    assert len(smtp.messages) == 8


def test_close_early_only_once_the_rule_is_met(app, browser, smtp):
    # Three consultants asked: the senior part may be told, and so close early offered.
    cycle_id = new_cycle(browser)
    assert paste(browser, cycle_id, [*colleagues(1, "supervisor"), *colleagues(3, "senior"),
                                     *colleagues(6, "peer")]).status_code == 302
    assert launch(browser, cycle_id).status_code == 302
    close = f"/cycles/{cycle_id}/close"
    assert "Close now" not in text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "You can close early once" in flash_after(browser, browser.get(close))
    assert "You can close early once" in flash_after(
        browser, post(browser, f"/cycles/{cycle_id}", close))
    assert cycle_row(app, cycle_id).status == "open"

    add_responses(app, cycle_id, "senior", *["peer"] * 8)
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "At least 2 senior colleagues Not yet" in page and "Close now" not in page
    # Two seniors, as the rule asks; but the report would show the one consultant only pooled
    # with others, so it could not say the senior part is met, and neither does this page.
    add_responses(app, cycle_id, "supervisor")
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "At least 2 senior colleagues Not yet" in page and "Close now" not in page
    add_responses(app, cycle_id, "senior", "senior")  # the consultants a column of their own
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "At least 2 senior colleagues Met" in page and "Close now" in page
    confirm = browser.get(close)
    assert confirm.status_code == 200 and "Closing cannot be undone" in text_of(confirm)
    page = flash_after(browser, post(browser, close))
    assert "Your feedback cycle is closed" in page
    assert "Awaiting review with your coach" in page
    assert "available after your coach has reviewed it" in page
    assert "Add a colleague" not in page and "Remind" not in page
    cycle = cycle_row(app, cycle_id)
    assert cycle.status == "closed" and cycle.closed_at is not None
    assert "Only an open cycle can be closed" in flash_after(browser, browser.get(close))


def test_released_cycle_page_says_so_and_shows_no_scores(app, browser, smtp, make_user):
    coach = make_user("coach@nhs.net", role="coach")
    cycle_id = open_cycle(browser, smtp)
    add_responses(app, cycle_id, "senior", "supervisor", *["peer"] * 8)
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        cycle_service.close_cycle(cycle, by=None)
        cycle.status, cycle.released_at = "released", datetime.now(UTC)
        cycle.released_by_id = coach.id
        db.session.commit()
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "Your coach released the report" in page
    assert "You asked 10 colleagues, and 10 answered" in page
    assert "Whether enough of those who answered were senior is not shown" in page
    assert "score" not in page.replace("any scores", "").casefold()


# --- Who may reach it ----------------------------------------------------------------------------

CYCLE_ROUTES = [
    ("GET", "/cycles/{cycle}"),
    ("POST", "/cycles/{cycle}/nominees"),
    ("POST", "/cycles/{cycle}/nominees/bulk"),
    ("POST", "/cycles/{cycle}/nominees/{invitation}/remove"),
    ("GET", "/cycles/{cycle}/launch"),
    ("POST", "/cycles/{cycle}/launch"),
    ("POST", "/cycles/{cycle}/remind"),
    ("GET", "/cycles/{cycle}/close"),
    ("POST", "/cycles/{cycle}/close"),
]
ALL_ROUTES = [("GET", "/cycles/"), ("GET", "/cycles/new"), ("POST", "/cycles/new"),
              *CYCLE_ROUTES]


@pytest.fixture
def someones_cycle(app, make_user) -> dict[str, int]:
    """Another trainee's draft cycle, with one nominee and enough to launch it."""
    owner = make_user("owner@nhs.net", name="Olu Owner")
    with app.app_context():
        cycle = cycle_service.create_cycle(db.session.get(User, owner.id), instrument_key="clcf",
                                           title="Olu's private cycle", closes_on=None)
        cycle_service.nominate_many(cycle, "\n".join(ENOUGH))
        db.session.commit()
        return {"cycle": cycle.id, "invitation": cycle.invitations[0].id}


def request_as(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    token = csrf_token(client.get("/", follow_redirects=True))
    return client.post(path, data={"csrf_token": token, "name": "X", "email": "x@nhs.net",
                                   "group": "peer", "colleagues": "X, x@nhs.net, peer"})


@pytest.mark.parametrize(("method", "route"), CYCLE_ROUTES)
def test_another_trainees_cycle_is_not_found(app, client, make_user, login, someones_cycle,
                                             method, route):
    login(client, make_user("nosy@nhs.net"))
    response = request_as(client, method, route.format(**someones_cycle))
    assert response.status_code == 404
    missing = request_as(client, method, route.format(cycle=9999, invitation=9999))
    assert missing.status_code == 404
    assert "Olu" not in response.text
    cycle = cycle_row(app, someones_cycle["cycle"])
    assert cycle.status == "draft" and len(invitations(app, cycle.id)) == len(ENOUGH)


def test_another_trainees_cycles_are_not_listed(client, make_user, login, someones_cycle):
    login(client, make_user("nosy@nhs.net"))
    page = client.get("/cycles/")
    assert page.status_code == 200 and "Olu's private cycle" not in page.text


@pytest.mark.parametrize("role", ["coach", "admin", None])
@pytest.mark.parametrize(("method", "route"), ALL_ROUTES)
def test_only_trainees_may_use_these_pages(client, make_user, login, someones_cycle, role,
                                           method, route):
    if role:
        login(client, make_user(f"{role}@nhs.net", role=role))
    response = request_as(client, method, route.format(**someones_cycle))
    if role:
        assert response.status_code == 403
    else:
        assert response.status_code == 302 and "/auth/login" in response.location


def test_colleague_removed_after_answering_and_added_back_is_not_asked_twice(app, browser, smtp):
    cycle_id = open_cycle(browser, smtp)
    complete(app, cycle_id, "peer1@nhs.net", "peer")
    done = invitations(app, cycle_id)["peer1@nhs.net"]
    post(browser, f"/cycles/{cycle_id}", f"/cycles/{cycle_id}/nominees/{done.id}/remove")
    nominate(browser, cycle_id, "Peer One", "peer1@nhs.net", "peer")
    again = invitations(app, cycle_id)["peer1@nhs.net"]
    assert again.status == "completed" and again.removed_at is None
    assert smtp.messages_to("peer1@nhs.net") == []
