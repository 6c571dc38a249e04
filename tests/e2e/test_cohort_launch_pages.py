"""The cohort launch pages in Chromium (issue 5, point 2; issue 12, point 8): the lead sees on
the admin home what needs attention, launches a 360 for a cohort, confirms (the trainees named,
those without a coach warned of), reads the progress table and sends a reminder; axe-core finds
nothing on any page, and at 360 px nothing scrolls sideways. The trainee's cycle page says who
opened it."""

from __future__ import annotations

from typing import Any

import pytest
from a11y import assert_accessible, assert_fits
from test_dashboard_page import sign_in

from feedback360.extensions import db
from feedback360.models import FeedbackCycle, User
from feedback360.services import cycles


@pytest.fixture
def cohort_with_trainees(app, make_user, make_cohort):
    cohort = make_cohort("STP 2026 Medical Physics")
    make_user("helen.lead@nhs.net", role="admin", name="Helen Lead")
    ria = make_user("ria.ready@nhs.net", name="Ria Ready", cohort=cohort)
    make_user("noel.new@nhs.net", name="Noel New", cohort=cohort, password=None)
    busy = make_user("bo.busy@nhs.net", name="Bo Busy", cohort=cohort)
    with app.test_request_context("/"):
        cycles.create_cycle(db.session.get(User, busy.id), instrument_key="clcf",
                            title="My own", closes_on=None)
        db.session.commit()
    return cohort, ria


def check(page: Any) -> None:
    """axe-core finds nothing, and on a phone nothing scrolls sideways."""
    assert_accessible(page)
    assert_fits(page, page.viewport_size["width"])


def launch_from_home(page: Any) -> None:
    page.goto("/home/admin")
    attention = page.locator("#attention")
    assert attention.get_by_text("3 trainees have no coach").is_visible()
    assert attention.get_by_text("1 account has never been activated").is_visible()
    check(page)
    page.get_by_role("link", name="Launch a 360 for this cohort").click()
    page.wait_for_load_state()
    check(page)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Check before you launch").is_visible()
    assert page.locator("#launch-for li").all_inner_texts() == [
        "Noel New (account not activated yet)", "Ria Ready"]
    warning = page.locator("#no-coach")
    assert warning.get_by_text("2 trainees have no coach").is_visible()
    assert warning.get_by_text("Noel New, Ria Ready").is_visible()
    assert warning.get_by_role("link", name="Assign coaches to the trainees of STP 2026 "
                               "Medical Physics").is_visible()
    check(page)
    page.get_by_role("button", name="Launch and email 2 trainees").click()
    page.wait_for_load_state()


def remind_from_progress(page: Any) -> None:
    """Neither trainee has launched: the lead confirms, and both are emailed."""
    card = page.locator("#remind")
    assert card.get_by_role("heading", name="2 trainees have not launched yet").is_visible()
    card.get_by_role("link", name="Send a reminder").click()
    page.wait_for_load_state()
    assert page.locator("#to-remind li").all_inner_texts() == [
        "Noel New (the email includes a new activation link)", "Ria Ready"]
    check(page)
    page.get_by_role("button", name="Email 2 trainees").click()
    page.wait_for_load_state()
    assert page.get_by_text("We are emailing a reminder to 2 trainees: Noel New, Ria Ready.")\
        .is_visible()
    assert page.locator("#remind").get_by_text("A reminder was sent recently").is_visible()
    check(page)


def test_the_lead_launches_and_follows_progress(page, live_server, app, make_user,
                                                cohort_with_trainees):
    cohort, ria = cohort_with_trainees
    sign_in(page, "helen.lead@nhs.net")
    launch_from_home(page)
    assert "/cohorts/launches/" in page.url
    table = page.locator("#progress")
    assert table.get_by_role("row").count() == 3  # the header and two trainees
    missing = page.locator("#missing")
    assert missing.get_by_role("row").count() == 2  # Bo, whose own cycle was open
    assert_accessible(page)
    remind_from_progress(page)

    # a trainee joins the cohort after the launch: the lead adds them to it
    make_user("lia.late@nhs.net", name="Lia Late", cohort=cohort)
    page.reload()
    page.get_by_role("button", name="Open a cycle in this launch for 1 trainee").click()
    page.wait_for_load_state()
    assert page.get_by_text("1 trainee now has a draft feedback cycle in this launch").is_visible()
    assert table.get_by_role("row").count() == 4
    assert missing.get_by_role("row").count() == 2
    assert_accessible(page)

    page.get_by_role("link", name="Back to the launches for STP 2026 Medical Physics").click()
    page.wait_for_load_state()
    assert_accessible(page)

    with app.app_context():
        cycle_id = db.session.scalar(db.select(FeedbackCycle.id).where(
            FeedbackCycle.trainee_id == ria.id))
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, ria.email)
    page.goto(f"/cycles/{cycle_id}")
    assert page.get_by_text("Opened for you by your programme (Helen Lead)").is_visible()
    assert_accessible(page)


def test_the_launch_pages_and_users_table_fit_a_phone(mobile_page, live_server,
                                                      cohort_with_trainees):
    page = mobile_page
    sign_in(page, "helen.lead@nhs.net")
    launch_from_home(page)
    check(page)
    # each count on a line of its own, not "0 of 100 of 2 senior"
    cell = page.locator("#progress td").filter(has_text="senior").first
    lines = cell.locator(".app-cell-line")
    assert lines.count() == 2
    assert lines.nth(0).bounding_box()["y"] < lines.nth(1).bounding_box()["y"]
    remind_from_progress(page)

    page.goto("/admin/users")
    check(page)
    heading = page.locator(".nhsuk-table-responsive__heading", has_text="Email").first
    line_height = heading.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert heading.bounding_box()["height"] < 1.5 * line_height  # "Email", not "Ema / il"
