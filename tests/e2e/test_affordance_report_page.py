"""The cohort report's workplace affordances section in Chromium on a 360 px phone (issue 14,
point 3): the weakest site named, every table readable without sideways scrolling, and axe-core
finds nothing."""

from __future__ import annotations

import os
from typing import Any

from a11y import assert_accessible, assert_fits
from helpers import enter_code_if_asked
from test_affordance_report import workplace  # noqa: F401 (the fixture)

PHONE_WIDTH = 360


def test_the_lead_reads_the_affordances_on_a_phone(make_user, workplace, mobile_page: Any):  # noqa: F811
    make_user("lena.lead@nhs.net", role="admin", name="Lena Lead")
    page = mobile_page
    page.goto("/auth/login")
    page.get_by_label("Email address").fill("lena.lead@nhs.net")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    enter_code_if_asked(page, "lena.lead@nhs.net")
    page.goto(f"/cohorts/{workplace['id']}/report")
    section = page.get_by_role("region", name="Workplace affordances")
    section.get_by_role("heading", name="Where affordances are weakest").wait_for()
    assert "Leeds General" in section.locator("#affordances-weakest").inner_text()
    assert_fits(page, PHONE_WIDTH)
    if os.environ.get("SHOTS"):
        page.screenshot(path=os.environ["SHOTS"], full_page=True)
    assert_accessible(page)
