"""The cohort launch pages in Chromium (issue 5, point 2): the lead launches a 360 for a cohort
from the admin home, confirms, and reads the progress table; axe-core finds nothing on any page,
and on a 360 px phone nothing scrolls sideways. The trainee's cycle page says who opened it."""

from __future__ import annotations

from typing import Any

import pytest
from a11y import assert_accessible
from test_dashboard_page import PHONE_WIDTH, sign_in

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


def launch_from_home(page: Any) -> None:
    page.goto("/home/admin")
    page.get_by_role("link", name="Launch a 360 for this cohort").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Check before you launch").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Launch and email 2 trainees").click()
    page.wait_for_load_state()


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


def test_the_progress_table_fits_a_phone(mobile_page, live_server, cohort_with_trainees):
    page = mobile_page
    sign_in(page, "helen.lead@nhs.net")
    launch_from_home(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert_accessible(page)
