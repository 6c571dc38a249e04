"""Letters of achievement in Chromium: a coach issues one through the form, the trainee sees it
(and the evidence pack's page), then anyone checks its code on the public verify page on a phone
(typed casually), and an unknown code; axe-core on each page."""

from __future__ import annotations

from typing import Any

import pytest
from a11y import assert_accessible, assert_fits
from helpers import DEFAULT_PASSWORD, add_activity_with_feedback
from playwright.sync_api import expect

from feedback360.extensions import db
from feedback360.models import CoachAssignment, Letter

pytestmark = pytest.mark.e2e


def main_text(page: Any) -> str:
    return " ".join(page.locator("main").inner_text().split())


def test_a_coach_issues_a_letter_and_a_phone_verifies_it(new_context, live_server, app,
                                                         make_user):
    trainee = make_user("tara@nhs.net", name="Tara Trainee")
    coach = make_user("colin@nhs.net", role="coach", name="Colin Coach")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        add_activity_with_feedback(trainee.id, "Chaired the regional audit meeting")
        db.session.commit()

    page = new_context().new_page()
    page.goto(f"/trainees/{trainee.id}/letters/new")
    page.get_by_label("Email address").fill("colin@nhs.net")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("heading", level=1, name="Issue a letter of achievement").wait_for()
    page.get_by_role("button", name="Issue the letter").click()  # nothing chosen yet
    expect(page.get_by_role("alert")).to_contain_text("Select at least one activity")
    assert_accessible(page)
    page.get_by_label("Chaired the regional audit meeting").check()
    page.get_by_label("Title of the letter").fill("Leading the regional audit")
    page.get_by_label("Citation").fill("Tara chaired a difficult meeting with skill.")
    page.get_by_role("button", name="Issue the letter").click()
    page.get_by_role("heading", level=1, name="Letters of achievement for Tara Trainee").wait_for()
    assert_accessible(page)
    with app.app_context():
        code = db.session.scalars(db.select(Letter.verification_code)).one()
    assert code in main_text(page)

    mine = new_context().new_page()
    mine.goto("/portfolio/evidence")
    mine.get_by_label("Email address").fill("tara@nhs.net")
    mine.get_by_label("Password").fill(DEFAULT_PASSWORD)
    mine.get_by_label("Password").press("Enter")
    mine.get_by_role("heading", level=1, name="Download evidence for your e-portfolio").wait_for()
    assert_accessible(mine)
    mine.goto("/letters")
    expect(mine.locator("main")).to_contain_text(code)
    assert_accessible(mine)

    phone = new_context(mobile=True).new_page()
    phone.goto("/verify")
    phone.get_by_label("Verification code").fill(code.lower().replace("-", " "))
    phone.get_by_role("button", name="Verify the letter").click()
    expect(phone.get_by_role("status")).to_contain_text("This letter is genuine")
    said = main_text(phone)
    assert "Tara Trainee" in said and "Leading the regional audit" in said
    assert "Chaired the regional audit meeting" not in said and "Olu Observer" not in said
    assert_fits(phone, 360)
    assert_accessible(phone)
    phone.get_by_label("Verification code").fill("K7QF-3MZP-XR9A")
    phone.get_by_role("button", name="Verify the letter").click()
    expect(phone.get_by_role("status")).to_contain_text("No letter found")
    assert_accessible(phone)
