"""A lead adds a trust and its site; a trainee records a placement (after a mistake), is told who
sees what, answers the placement questions (after missing one) and shares them with their coach,
in Chromium; every page passes axe-core."""

from __future__ import annotations

import os
from pathlib import Path

from a11y import assert_accessible
from helpers import enter_code_if_asked

SHOTS = Path(os.environ.get("WORKPLACE_SHOTS", "")) if os.environ.get("WORKPLACE_SHOTS") else None


def _shot(page, name: str) -> None:
    if SHOTS:  # for a person to look at; never in CI
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    enter_code_if_asked(page, email)


def test_placements_and_the_placement_questions(page, live_server, make_user, new_context):
    make_user("lead@nhs.net", role="admin", name="Lena Lead")
    make_user("tia@nhs.net", name="Tia Trainee")
    _sign_in(page, "lead@nhs.net")
    page.get_by_role("link", name="Organisations").first.click()
    page.get_by_role("heading", name="Organisations and sites").wait_for()
    page.get_by_role("button", name="Add an organisation").click()
    page.get_by_label("Name of the organisation").fill("Northern Trust")
    page.get_by_role("button", name="Add organisation").click()
    page.get_by_role("button", name="Add a site").click()
    page.get_by_label("Name of the site").fill("City Hospital")
    page.get_by_role("button", name="Add site").click()
    page.get_by_role("link", name="Rename City Hospital").wait_for()
    assert_accessible(page)
    _shot(page, "organisation")

    trainee = new_context().new_page()
    _sign_in(trainee, "tia@nhs.net")
    trainee.get_by_role("link", name="Portfolio").first.click()
    trainee.get_by_role("link", name="My placements").first.click()
    trainee.get_by_role("button", name="Add a placement").click()
    trainee.get_by_label("Site").select_option(label="City Hospital (Northern Trust)")
    trainee.get_by_label("Department").fill("Genomics")
    for part, value in (("Day", "1"), ("Month", "9"), ("Year", "2026")):
        trainee.get_by_role("group", name="Start date").get_by_label(part).fill(value)
    for part, value in (("Day", "1"), ("Month", "8"), ("Year", "2026")):
        trainee.get_by_role("group", name="End date").get_by_label(part).fill(value)
    trainee.get_by_role("button", name="Save placement").click()
    trainee.locator(".nhsuk-error-summary").get_by_text("The end date must be").wait_for()
    assert_accessible(trainee)
    _shot(trainee, "placement-error")
    for part in ("Day", "Month", "Year"):
        trainee.get_by_role("group", name="End date").get_by_label(part).fill("")
    trainee.get_by_role("button", name="Save placement").click()
    trainee.locator("#answer-offer").wait_for()
    assert_accessible(trainee)
    _shot(trainee, "placements")

    trainee.get_by_role("button", name="Answer the placement questions").click()
    trainee.locator("#who-sees").wait_for()
    for index, group in enumerate(trainee.locator(".nhsuk-radios").all()[:-1]):
        group.get_by_label("Agree", exact=True).check() if index % 2 else \
            group.get_by_label("Disagree", exact=True).check()
    trainee.get_by_role("button", name="Save my answers").click()
    trainee.locator(".nhsuk-error-summary").get_by_text("Choose an answer for").wait_for()
    assert_accessible(trainee)
    _shot(trainee, "answer-error")
    trainee.locator(".nhsuk-radios").last.get_by_label("Does not apply to this placement").check()
    trainee.get_by_role("button", name="Save my answers").click()
    trainee.locator("#answers").wait_for()
    trainee.get_by_label("Share these answers with my coach").check()
    trainee.get_by_role("button", name="Save").click()
    trainee.get_by_text("Your coach can now see these answers").wait_for()
    assert_accessible(trainee)
    _shot(trainee, "response")
