"""The cohort report in Chromium (issue 5, point 3): the programme lead opens it from the
administration home page, plotly.js draws its charts under the strict Content-Security-Policy,
filters through the GET form, meets the message for a selection that would single trainees out;
axe-core finds nothing on either page.
"""

from __future__ import annotations

import pytest
from a11y import assert_accessible
from test_cohort_report_views import PEOPLE, add_launch, closed_cycle
from test_dashboard_page import sign_in, watch


@pytest.fixture
def cohort_id(app, make_cohort, make_user):
    make_user("lead@nhs.net", role="admin", name="Lee Lead")
    cohort = make_cohort("STP 2026 cohort", intake_year=2026)
    trainees = [make_user(f"t{n}@nhs.net", cohort=cohort, specialty=s, training_year=y, site=site)
                for n, (s, y, site) in enumerate(PEOPLE)]
    add_launch(app, cohort.id, [closed_cycle(app, t.id, n) for n, t in enumerate(trainees)])
    return cohort.id


def test_the_lead_reads_and_filters_the_cohort_report(page, live_server, app, cohort_id):
    sign_in(page, "lead@nhs.net")
    problems = watch(page)
    page.goto("/home/admin")
    page.get_by_role("link", name="STP 2026 cohort cohort report").click()
    page.locator(".js-plotly-plot").first.wait_for()
    page.wait_for_function("document.documentElement.dataset.chartsDrawn === 'true'")
    charts = page.locator("script.app-chart-data").count()
    assert charts == 2
    assert page.locator(".app-chart__figure--drawn:visible").count() == charts
    assert page.get_by_role("heading", name="Teaching priorities").is_visible()
    assert page.get_by_text("Fewer than 5 trainees").first.is_visible()
    problems += page.evaluate("window.__cspViolations")
    assert problems == []
    assert_accessible(page)

    page.get_by_label("Specialty", exact=True).select_option("Audiology")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    assert "specialty=Audiology" in page.url
    assert page.get_by_text("These figures cannot be shown").is_visible()
    assert page.locator("script.app-chart-data").count() == 0
    assert_accessible(page)
