"""The development dashboard in Chromium (issue 4, points 3 and 4): the coach on a closed cycle,
the trainee on a released one on a 360 px phone. plotly.js, served by the app, draws every chart
under the strict Content-Security-Policy; axe-core finds nothing; nothing scrolls sideways; the
tables stay when plotly.js cannot load; printing leaves the charts out.
"""

from __future__ import annotations

from typing import Any

import pytest
from a11y import assert_accessible
from helpers import enter_code_if_asked
from test_reports import build_cycle

from feedback360.extensions import db
from feedback360.models import CoachAssignment

PHONE_WIDTH = 360
# Chromium reports a CSP refusal on the console and as a securitypolicyviolation event.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""


@pytest.fixture
def people(app, make_user):
    trainee = make_user("tara.trainee@nhs.net", name="Tara Trainee")
    coach = make_user("colin.coach@nhs.net", role="coach", name="Colin Coach")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        db.session.commit()
    return trainee, coach


def sign_in(page: Any, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    enter_code_if_asked(page, email)
    assert "/auth/" not in page.url


def watch(page: Any) -> list[str]:
    """Console errors and page errors from now on (a CSP refusal is a console error)."""
    problems: list[str] = []
    page.add_init_script(WATCH_CSP)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def open_dashboard(page: Any, cycle_id: int) -> list[str]:
    problems = watch(page)
    page.goto(f"/cycles/{cycle_id}/report")
    page.locator(".js-plotly-plot").first.wait_for()
    page.wait_for_function("document.documentElement.dataset.chartsDrawn === 'true'")
    charts = page.locator("script.app-chart-data").count()
    assert charts >= 4
    assert page.locator(".js-plotly-plot").count() == charts
    assert page.locator(".app-chart__figure--drawn:visible").count() == charts
    assert page.locator(".js-plotly-plot .main-svg").count() >= charts
    problems += page.evaluate("window.__cspViolations")
    return problems


def test_the_coach_reviews_a_closed_cycle(page, live_server, app, people):
    trainee, coach = people
    cycle_id = build_cycle(app, trainee.id, comments={4: ("strengths", "Calm at handover")})
    sign_in(page, coach.email)
    problems = open_dashboard(page, cycle_id)
    assert problems == []
    page.get_by_role("heading", name="Summary").wait_for()
    assert page.get_by_text("Calm at handover").is_visible()
    assert page.locator("#change-section").is_visible()
    assert_accessible(page)


def test_the_trainee_reads_a_released_report_on_a_phone(mobile_page, live_server, app, people):
    trainee, coach = people
    build_cycle(app, trainee.id, closes_in=7, released_by=coach.id)
    cycle_id = build_cycle(app, trainee.id, closes_in=21, released_by=coach.id)
    page = mobile_page
    sign_in(page, trainee.email)
    problems = open_dashboard(page, cycle_id)
    assert problems == []
    assert page.locator("#change .js-plotly-plot").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    for box in page.locator(".js-plotly-plot").evaluate_all(
            "plots => plots.map(p => p.getBoundingClientRect().right)"):
        assert box <= PHONE_WIDTH
    assert_accessible(page)


def test_without_plotly_the_tables_carry_the_report(page, live_server, app, people):
    trainee, coach = people
    cycle_id = build_cycle(app, trainee.id)
    sign_in(page, coach.email)
    page.route("**/assets/plotly.min.js*", lambda route: route.abort())
    page.goto(f"/cycles/{cycle_id}/report")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert page.locator(".js-plotly-plot").count() == 0
    assert page.locator(".app-chart__figure:visible").count() == 0
    tables = page.locator(".app-chart table")
    assert tables.count() >= 5 and tables.first.is_visible()


def test_printing_leaves_out_the_charts_and_the_page_furniture(page, live_server, app, people):
    trainee, coach = people
    cycle_id = build_cycle(app, trainee.id, released_by=coach.id)
    sign_in(page, trainee.email)
    open_dashboard(page, cycle_id)
    page.emulate_media(media="print")
    assert page.locator(".app-chart__figure:visible").count() == 0
    assert page.locator(".app-chart table:visible").count() >= 5
    assert not page.locator(".nhsuk-footer").first.is_visible()
    assert not page.locator(".nhsuk-back-link").first.is_visible()
    # the stacked phone layout of NHS tables is undone on paper: the column headings print
    heading = page.locator(".app-chart thead th").first
    assert heading.is_visible() and heading.bounding_box()["height"] > 5
