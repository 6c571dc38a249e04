"""Issue 4, point 8: from a closed cycle to an agreed plan, in Chromium, driven as people would.

The trainee first finds their report "awaiting review with your coach". The coach signs in, opens
the closed cycle from "My trainees", hides an identifying comment (trying first without a reason,
which the NHS error summary refuses), writes a private note and releases the report through its
confirmation page. The trainee follows the link in the release email and reads the dashboard:
scores, but neither the hidden comment nor the coach's note. Each adds a goal from the plan's
suggestions; both then see both goals.

Every distinct page passes axe-core. Full-page screenshots of the dashboard, the release
confirmation and the plan, at 1280 px and at 360 px, go to test-artifacts/screenshots/ (for
people to look at); at 360 px nothing may scroll sideways.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from a11y import assert_fits
from playwright.sync_api import expect
from test_feedback_cycle_journey import Audit
from test_reports import SCORE, build_cycle

from feedback360.extensions import db
from feedback360.models import CoachAssignment
from feedback360.services import opportunity_seed

PASSWORD = "correct horse battery"
TRAINEE, COACH = "Tara Trainee", "Colin Coach"
CYCLE_TITLE = "Feedback closing in 14 days"  # build_cycle's title
KEPT = "Calm and clear at every handover"
IDENTIFYING = "Named Sister Jones on ward 7"
HIDE_REASON = "Names a colleague on the ward"
NOTE = "Talked about chairing the M&M meeting; Tara is keen to try it in spring"
TRAINEE_GOAL = "Take up the first suggested opportunity within three months"
COACH_GOAL = "Ask two colleagues for feedback on it afterwards"
DESKTOP_WIDTH, PHONE_WIDTH = 1280, 360
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def people(app, make_user):
    trainee = make_user("tara.trainee@nhs.net", name=TRAINEE, specialty="Medical Physics",
                        training_year=2)
    coach = make_user("colin.coach@nhs.net", role="coach", name=COACH)
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        opportunity_seed.seed()  # the catalogue the plan's suggestions draw on
        db.session.commit()
    return trainee, coach


# --------------------------------------------------------------------------------------------
# Helpers


def sign_in(page: Any, email: str, audit: Audit, landing: str) -> None:
    page.goto("/")
    page.wait_for_url("**/auth/login**")
    audit(page, "sign in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("heading", level=1, name=landing).wait_for()


def main_text(page: Any) -> str:
    return " ".join(page.locator("main").inner_text().split())


def wait_for_charts(page: Any) -> None:
    expect(page.locator("html")).to_have_attribute("data-charts-drawn", "true")


def screenshots(page: Any, name: str) -> None:
    """Full-page screenshots of the page as it is at desktop width, and of the same address
    loaded afresh at 360 px (the charts lay themselves out for the width they are drawn at),
    which must not scroll sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{DESKTOP_WIDTH}.png"), full_page=True,
                    animations="disabled")
    phone = page.context.new_page()
    try:
        phone.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
        phone.goto(page.url)
        if phone.locator("script.app-chart-data").count():
            wait_for_charts(phone)
        assert_fits(phone, PHONE_WIDTH)
        phone.screenshot(path=str(SCREENSHOTS / f"{name}-{PHONE_WIDTH}.png"), full_page=True,
                         animations="disabled")
    finally:
        phone.close()


def flash(page: Any, text: str) -> Any:
    return page.locator("main").get_by_text(text)


def comment_item(page: Any, text: str) -> Any:
    return page.locator("#comments li.app-comment").filter(has_text=text)


def goal_rows(page: Any) -> list[str]:
    rows = page.locator("#development-plan table tbody tr")
    return [" ".join(text.split()) for text in rows.all_inner_texts()]


# --------------------------------------------------------------------------------------------
# The journey


def test_coach_reviews_and_releases_then_both_plan(new_context, live_server, app, people,
                                                   smtp):
    trainee, coach = people
    build_cycle(app, trainee.id, comments={4: ("strengths", KEPT),
                                           9: ("development", IDENTIFYING)})
    audit = Audit()
    tara = new_context().new_page()
    colin = new_context().new_page()

    trainee_waits_for_review(tara, trainee.email, audit)
    report_url = coach_reviews(colin, coach.email, audit)
    # The report's own address, before release, shows no score at all.
    tara.goto(report_url)
    tara.get_by_role("heading", level=1,
                     name="Your report is awaiting review with your coach").wait_for()
    assert not SCORE.search(main_text(tara))
    audit(tara, "awaiting review")
    coach_releases(colin, audit)
    link = release_link(smtp, trainee.email, live_server)
    assert link == report_url
    trainee_reads_report(tara, link, audit)

    due = date.today() + timedelta(days=90)
    add_goal(tara, audit, "trainee", action=TRAINEE_GOAL, due=due, status="In progress")
    colin.reload()
    add_goal(colin, audit, "coach", action=COACH_GOAL,
             due=due + timedelta(days=30), status="Not started", element=True)

    for page, whose in ((tara, "your"), (colin, f"{TRAINEE}'s")):
        page.reload()
        expect(page.locator("#development-plan")).to_contain_text(f"{whose} lowest-rated domain")
        rows = goal_rows(page)
        assert len(rows) == 2, rows
        assert TRAINEE_GOAL in rows[0]
        assert "In progress" in rows[0]
        assert COACH_GOAL in rows[1]
    screenshots(tara, "plan-trainee")


def trainee_waits_for_review(page: Any, email: str, audit: Audit) -> None:
    sign_in(page, email, audit, "My feedback cycles")
    audit(page, "my cycles")
    page.get_by_role("link", name=CYCLE_TITLE).click()
    page.get_by_role("heading", level=1, name=CYCLE_TITLE).wait_for()
    expect(page.locator("main")).to_contain_text("Awaiting review with your coach")
    assert page.locator("main").get_by_role("link", name=re.compile("report", re.I)).filter(
        has_text="Read your").count() == 0
    audit(page, "closed cycle")


def coach_reviews(page: Any, email: str, audit: Audit) -> str:
    """Hide the identifying comment and keep a note; returns the report's URL."""
    sign_in(page, email, audit, "My trainees")
    page.get_by_role("navigation").get_by_role("link", name="My trainees").click()
    page.get_by_role("heading", level=2, name=TRAINEE).wait_for()
    audit(page, "my trainees")
    page.get_by_role("link", name=f"Review the report for {CYCLE_TITLE}").click()
    page.get_by_role("heading", level=1, name=CYCLE_TITLE).wait_for()
    wait_for_charts(page)
    report_url = page.url.split("#")[0]
    assert re.search(r"/cycles/\d+/report$", report_url)
    expect(page.locator("#coach-review")).to_contain_text("Not released yet")
    audit(page, "dashboard, coach, closed")
    screenshots(page, "dashboard-coach")

    comment_item(page, IDENTIFYING).get_by_role("link", name="Hide this comment").click()
    page.get_by_role("heading", level=1, name="Hide this comment from the trainee?").wait_for()
    audit(page, "hide comment")
    page.get_by_role("button", name="Hide comment").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Enter why you are hiding this comment")
    expect(page).to_have_title(re.compile(r"^Error: "))
    # the summary's link takes the keyboard to the field
    summary.get_by_role("link", name="Enter why you are hiding this comment").click()
    reason = page.get_by_label("Why are you hiding this comment?")
    expect(reason).to_be_focused()
    audit(page, "hide comment, error")
    page.keyboard.type(HIDE_REASON)
    page.get_by_role("button", name="Hide comment").click()
    expect(flash(page, "Comment hidden. The trainee will not see it.")).to_be_visible()
    hidden = comment_item(page, IDENTIFYING)
    expect(hidden).to_contain_text("Hidden from the trainee")
    expect(hidden).to_contain_text(f"Reason: {HIDE_REASON}")
    expect(page.locator("#coach-review")).to_contain_text("1 comment is hidden")

    page.get_by_label("Add a private note").fill(NOTE)
    page.get_by_role("button", name="Save note").click()
    expect(flash(page, "Note saved.")).to_be_visible()
    expect(page.locator("#coach-notes")).to_contain_text(NOTE)
    audit(page, "dashboard, coach, reviewed")
    return report_url


def coach_releases(page: Any, audit: Audit) -> None:
    page.locator("#coach-review").get_by_role("button", name="Release to trainee").click()
    page.get_by_role("heading", level=1, name=f"Release the report to {TRAINEE}?").wait_for()
    text = main_text(page)
    assert "1 comment from colleagues. The 1 comment you hid will not be shown" in text
    assert "irreversible" in text
    audit(page, "release confirmation")
    screenshots(page, "release-confirmation")
    page.get_by_role("button", name=f"Release the report to {TRAINEE}").click()
    expect(flash(page, f"Report released to {TRAINEE}.")).to_be_visible()
    expect(page.locator("#coach-review")).to_contain_text(f"Released to {TRAINEE}")
    assert page.locator("#coach-review").get_by_role("button", name="Release").count() == 0


def release_link(smtp: Any, email: str, live_server: str) -> str:
    smtp.wait_for(1)
    messages = smtp.messages_to(email)
    assert len(messages) == 1
    assert messages[0]["Subject"] == "Your leadership feedback report is ready"
    links = [link for link in smtp.links(messages[0]) if link.startswith(live_server)]
    reports = [link for link in links if re.search(r"/cycles/\d+/report$", link)]
    assert len(reports) == 1, links
    return reports[0]


def trainee_reads_report(page: Any, link: str, audit: Audit) -> None:
    page.goto(link)
    page.get_by_role("heading", level=1, name=CYCLE_TITLE).wait_for()
    wait_for_charts(page)
    text = main_text(page)
    assert "Your feedback report" in text
    assert SCORE.search(page.locator("#strengths").inner_text())
    assert page.locator("#details table").count() >= 5
    assert KEPT in text
    for secret in (IDENTIFYING, HIDE_REASON, NOTE, "Hidden from the trainee", "Private notes"):
        assert secret not in text, secret
    assert page.locator("#coach-review, #coach-notes").count() == 0
    audit(page, "dashboard, trainee, released")
    screenshots(page, "dashboard-trainee")


def add_goal(page: Any, audit: Audit, who: str, *, action: str, due: date, status: str,
             element: bool = False) -> None:
    """Add a goal for the first suggested domain, its first opportunity as the support (or one
    of that domain's elements, if ``element``)."""
    plan = page.locator("#development-plan")
    suggestion = plan.locator(".nhsuk-card").first
    domain = suggestion.get_by_role("heading").inner_text().rsplit(":", 1)[0].strip()
    opportunity = suggestion.locator("li").first.inner_text().strip()
    plan.get_by_role("button", name="Add a goal").click()
    page.get_by_role("heading", level=1, name="Add a goal").wait_for()
    audit(page, "goal form")
    focus = page.get_by_label("Domain or element")
    if element:
        option = focus.locator(f'optgroup[label="{domain}"] option').nth(1)
        focus.select_option(value=option.get_attribute("value"))
    else:
        focus.select_option(label=f"{domain} (the whole domain)")
    page.get_by_label("What will you do?").fill(action)
    page.get_by_label("Support or opportunity (optional)").fill(opportunity)
    when = page.get_by_role("group", name="By when?")
    for part, value in (("Day", due.day), ("Month", due.month), ("Year", due.year)):
        when.get_by_label(part).fill(str(value))
    page.get_by_role("group", name="Status").get_by_label(status, exact=True).check()
    if not element:
        screenshots(page, "plan-goal-form")
    page.get_by_role("button", name="Save goal").click()
    expect(flash(page, "Goal added to the development plan")).to_be_visible()
    row = page.locator("#development-plan table tbody tr").filter(has_text=action)
    expect(row).to_contain_text(domain)
    expect(row).to_contain_text(opportunity)
    expect(row).to_contain_text(f"{due.day} {due:%B %Y}")
    audit(page, f"dashboard with plan, {who}")
