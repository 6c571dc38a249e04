"""The trainee's leadership portfolio in Chromium at 360 px (issue 13, point 6): the home card
leads to it, the gap is said in words with an open opportunity, the coach reads the same page
from My trainees; axe-core finds nothing and nothing scrolls sideways."""

from __future__ import annotations

from a11y import assert_accessible, assert_fits
from helpers import enter_code_if_asked
from playwright.sync_api import expect
from test_portfolio import MEANS, activity, element_of, opportunity, released_cycle

from feedback360.extensions import db
from feedback360.models import CoachAssignment

PHONE_WIDTH = 360


def sign_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    enter_code_if_asked(page, email)
    assert "/auth/" not in page.url


def test_portfolio_on_a_phone(app, make_user, new_context):
    trainee = make_user("tia.trainee@nhs.net", name="Tia Trainee")
    coach = make_user("cal.coach@nhs.net", role="coach", name="Cal Coach")
    with app.test_request_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        released_cycle(trainee.id, MEANS)
        activity(trainee.id, "doing", [element_of("working-with-others")],
                 title="Chaired the departmental audit meeting", feedback=("given",))
        opportunity("Sit on a band 6 interview panel", "managing-services")
        db.session.commit()

    for email, start, link in (
            ("tia.trainee@nhs.net", "/cycles/", "Go to my portfolio"),
            ("cal.coach@nhs.net", "/coach/trainees", "Leadership portfolio of Tia Trainee")):
        page = new_context(mobile=True).new_page()
        sign_in(page, email)
        page.goto(start)
        page.get_by_role("link", name=link).click()
        expect(page.locator("#gaps")).to_contain_text("Managing services")
        expect(page.locator("#gaps")).to_contain_text("Sit on a band 6 interview panel")
        expect(page.locator("#domains")).to_contain_text("Working with others")
        assert_fits(page, PHONE_WIDTH)
        assert_accessible(page)
