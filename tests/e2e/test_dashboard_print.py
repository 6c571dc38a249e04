"""Issue 4, point 4: a released dashboard printed to PDF by Chromium, as a trainee does to upload it
to their e-portfolio. The PDF is kept in test-artifacts/ for people to look at; the test checks it
is a PDF of a sensible number of A4 pages (too few means content was lost, too many that the
print stylesheet no longer compacts the screen layout).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import expect
from test_dashboard_page import people, sign_in  # noqa: F401 (a fixture)
from test_reports import COMMENTS, build_cycle

from feedback360.extensions import db
from feedback360.models import FeedbackCycle, User
from feedback360.services import plans

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?!s)\b")
# Measured at 13 pages for this report (two cycles, 40 statements, comments, two goals); room for
# wording changes, without letting a broken stylesheet (charts printed, stacked tables) through.
PAGES = range(8, 19)
A4_POINTS = (595, 842)
A4_PRINTABLE_PX = 688  # 210 mm less print.css's 14 mm margins, at 96 px to the inch


def test_a_released_dashboard_prints_to_a4(page, live_server, app, people):  # noqa: F811
    trainee, coach = people
    build_cycle(app, trainee.id, closes_in=7, released_by=coach.id)
    cycle_id = build_cycle(app, trainee.id, closes_in=21, released_by=coach.id,
                           comments=COMMENTS)
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        for author, domain, action in [
                (trainee.id, "managing-services", "Sit on an interview panel for new trainees"),
                (coach.id, "improving-services", "Chair the department's M&M meeting")]:
            plans.add_goal(cycle, db.session.get(User, author), domain, None, action,
                           "My supervisor", date.today() + timedelta(days=60), "in_progress")
        db.session.commit()
    sign_in(page, trainee.email)
    page.goto(f"/cycles/{cycle_id}/report")
    expect(page.locator("html")).to_have_attribute("data-charts-drawn", "true")
    page.emulate_media(media="print")
    # the plan's goals print as a table (its headings shown, not stacked into cards), without
    # the "Change" links; checked at the width of the page's printable area, where the NHS
    # layout for narrow screens applies
    page.set_viewport_size({"width": A4_PRINTABLE_PX, "height": 900})
    plan = page.locator("#development-plan table")
    assert plan.locator("thead th").first.bounding_box()["height"] > 5
    assert plan.locator("tbody td").first.evaluate("cell => getComputedStyle(cell).display") \
        == "table-cell"
    expect(plan.locator("tbody tr")).to_have_count(2)
    expect(plan.get_by_role("link", name="Change")).to_have_count(0)  # hidden, so not in the tree
    pdf = page.pdf(format="A4", print_background=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dashboard-print.pdf").write_bytes(pdf)

    assert pdf.startswith(b"%PDF-")
    pages = len(PAGE_OBJECT.findall(pdf))
    assert pages in PAGES, f"{pages} pages"
    for box in re.findall(rb"/MediaBox\s*\[\s*([\d.\s]+)\]", pdf):
        width, height = (float(n) for n in box.split()[2:])
        assert abs(width - A4_POINTS[0]) < 2 and abs(height - A4_POINTS[1]) < 2, box
