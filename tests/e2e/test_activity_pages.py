"""A trainee on a 360 px phone logs a leadership activity (a mistake first), reads it back and
reports time not available; the lead reads the quarter's aggregate; in Chromium, every page
passes axe-core."""

from __future__ import annotations

from datetime import date
from typing import Any

from a11y import assert_accessible
from helpers import enter_code_if_asked
from playwright.sync_api import expect


def sign_in(page: Any, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    enter_code_if_asked(page, email)


def fill_date(page: Any, legend: str, day: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def test_log_an_activity_and_report_time(new_context, live_server, make_user):
    make_user("tara@nhs.net", name="Tara Trainee", site="Leeds", specialty="Genomics")
    make_user("lead@nhs.net", role="admin", name="Lena Lead")
    tara = new_context(mobile=True).new_page()
    sign_in(tara, "tara@nhs.net")

    tara.goto("/portfolio/activities")
    expect(tara.locator("#activity-list-empty")).to_be_visible()
    assert_accessible(tara)
    tara.get_by_role("button", name="Log a leadership activity").click()
    tara.get_by_label("Title").fill("Chaired the junior doctors' forum")
    tara.get_by_role("button", name="Save to my log").click()
    expect(tara.locator(".nhsuk-error-summary")).to_contain_text(
        "Select at least one leadership element")
    assert_accessible(tara)
    tara.get_by_label("What kind was it?").select_option("chairing")
    tara.get_by_label("What you did and your role").fill("Set the agenda and chaired it.")
    fill_date(tara, "Start date", date.today())
    tara.get_by_label("Time spent (hours)").fill("2.5")
    tara.get_by_label("Acting with integrity").check()
    tara.get_by_label("What went well?").fill("Kept to time.")
    tara.get_by_role("button", name="Save to my log").click()
    expect(tara.get_by_role("heading", name="Chaired the junior doctors' forum")).to_be_visible()
    assert_accessible(tara)
    tara.get_by_role("link", name="Back to the activity log").click()
    expect(tara.locator("#balance")).to_contain_text("2.5 hours")
    assert_accessible(tara)

    tara.goto("/portfolio/time")
    tara.get_by_role("button", name="Report time not available").click()
    fill_date(tara, "Date", date.today())
    tara.get_by_label("What was lost").fill("My QI half day")
    tara.get_by_label("Service pressure").check()
    tara.get_by_role("button", name="Save").click()
    expect(tara.locator("#time-list")).to_contain_text("Service pressure")
    assert_accessible(tara)

    lead = new_context().new_page()
    sign_in(lead, "lead@nhs.net")
    lead.get_by_role("link", name="Time reports").first.click()
    expect(lead.locator("#time-aggregate-hidden")).to_be_visible()  # one trainee: nothing shows
    assert_accessible(lead)
