"""Issue 13, points 3 and 8: written feedback on an activity, in Chromium.

The trainee (desktop) asks a named observer from the activity's written-feedback section. The
observer follows the link from the captured email on a 360x740 phone, reads that the feedback is
named, writes on one element and saves for later; then comes back through the same link in a
fresh browser, finds the draft, adds an overall comment, checks and sends it. The used link says
so, and the trainee reads the feedback under the observer's name. axe-core checks every page,
and every observer page fits 360 px without sideways scrolling.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from a11y import assert_accessible, assert_fits
from helpers import add_activity, path_of
from playwright.sync_api import expect

from feedback360.extensions import db

PHONE_WIDTH = 360
# A folder to put screenshots in, to look at by hand; none are taken without it.
SHOTS = os.environ.get("FEEDBACK360_SHOTS")
PASSWORD = "correct horse battery"
OBSERVER_EMAIL = "olu.observer@nhs.net"
ON_SELF_AWARENESS = "She asked for challenge and changed the plan when the data disagreed."
OVERALL = "A calm, well-prepared chair. <b>Next time</b> give the juniors more airtime."


def check(page: Any, name: str) -> None:
    assert_fits(page, PHONE_WIDTH)
    assert_accessible(page)
    shot(page, name)


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"observer-{name}.png"), full_page=True)


def test_an_observer_gives_named_written_feedback_on_a_phone(page, new_context, live_server,
                                                              app, make_user, smtp):
    trainee = make_user("tara.trainee@nhs.net", name="Tara Trainee")
    with app.app_context():
        activity_id = add_activity(trainee.id).id
        db.session.commit()

    # The trainee asks, from the activity's written-feedback section.
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(trainee.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/cycles/")
    page.goto(f"/activities/{activity_id}/written-feedback")
    expect(page.get_by_text("Nobody has been asked")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Ask someone for written feedback").click()
    page.get_by_role("heading", name="Ask for written feedback").wait_for()
    page.get_by_role("button", name="Send request").click()  # nothing filled in
    page.locator(".nhsuk-error-summary").wait_for()
    assert_accessible(page)
    shot(page, "trainee-request-errors")
    page.get_by_label("Observer's full name").fill("Olu Observer")
    page.get_by_label("Observer's work email address").fill(OBSERVER_EMAIL)
    page.get_by_label("Their role (optional)").fill("Consultant clinical scientist")
    page.get_by_label("A message to the observer (optional)").fill("How did I chair it?")
    page.get_by_role("button", name="Send request").click()
    expect(page.locator(".nhsuk-tag")).to_have_text("Sent")
    assert_accessible(page)
    shot(page, "trainee-sent")

    [message] = smtp.wait_for(1)
    [link] = smtp.links(message)

    # The observer, on a phone: the named notice before anything is asked.
    phone = new_context(mobile=True).new_page()
    phone.goto(path_of(link))
    assert phone.url.endswith("/observer"), phone.url  # the token left the address bar
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Tara Trainee has asked for your written feedback")
    expect(phone.get_by_text("Your feedback is named, not anonymous")).to_be_visible()
    expect(phone.get_by_text("How did I chair it?")).to_be_visible()
    check(phone, "welcome")
    phone.get_by_role("button", name="Start").click()
    phone.wait_for_url("**/observer/feedback")
    check(phone, "answer")
    boxes = phone.locator("main textarea")
    expect(boxes).to_have_count(3)  # two elements, then the overall comment
    boxes.first.fill(ON_SELF_AWARENESS)
    phone.get_by_role("button", name="Save and come back later").click()
    phone.wait_for_url("**/observer/saved")
    check(phone, "saved")
    phone.context.close()

    # Back through the same link in a fresh browser: the draft is there.
    phone = new_context(mobile=True).new_page()
    phone.goto(path_of(link))
    phone.get_by_role("button", name="Continue where you left off").click()
    expect(phone.locator("main textarea").first).to_have_value(ON_SELF_AWARENESS)
    phone.get_by_label("Overall comment").fill(OVERALL)
    phone.get_by_role("button", name="Save and continue").click()
    phone.wait_for_url("**/observer/review")
    expect(phone.get_by_text(OVERALL, exact=True)).to_be_visible()  # as text, not markup
    expect(phone.get_by_text("No comment")).to_have_count(1)
    check(phone, "review")
    phone.get_by_role("button", name="Send feedback").click()
    phone.wait_for_url("**/observer/thanks")
    check(phone, "thanks")

    # The link has been used.
    phone.goto(path_of(link))
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "You have already given your feedback")
    check(phone, "used")

    # The trainee reads it, named.
    page.reload()
    expect(page.locator(".nhsuk-tag")).to_have_text("Feedback given")
    expect(page.get_by_text("Olu Observer, Consultant clinical scientist")).to_be_visible()
    expect(page.get_by_text(ON_SELF_AWARENESS)).to_be_visible()
    expect(page.get_by_text(OVERALL, exact=True)).to_be_visible()
    assert_accessible(page)
    shot(page, "trainee-given")
