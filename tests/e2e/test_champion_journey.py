"""The leadership champion in Chromium: signs in, finds their home and the tracker, updates a
criterion (a mistyped review date first), produces the quarter's board report, writes the
commentary, sees the page as it prints, and downloads the PDF; every page passes axe-core."""

from __future__ import annotations

import os
from pathlib import Path

from a11y import assert_accessible
from champion_helpers import activity, champion_world, time_lost

from feedback360.extensions import db

SHOTS = Path(os.environ.get("CHAMPION_SHOTS", "")) if os.environ.get("CHAMPION_SHOTS") else None


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS:  # for looking at the pages while working on them, never in CI
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_champion_updates_the_commitment_and_reports_to_the_board(page, app, live_server,
                                                                  make_user):
    world = champion_world(app, make_user, trainees=12)
    with app.app_context():
        for number, trainee in enumerate(world.trainee_ids):
            activity(trainee, category="shadowing", title="Shadowed the medical director")
            activity(trainee, kind="education", category="course", title="Leading teams",
                     hours=6)
            time_lost(trainee, "rota" if number % 2 else "service_pressure")
        db.session.commit()

    page.goto("/auth/login")
    page.get_by_label("Email address").fill(world.champion_email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Leadership champion", exact=True).wait_for()
    assert_accessible(page)
    _shot(page, "home")

    page.get_by_role("link", name="Commitment", exact=True).click()
    page.get_by_role("heading", name="Leadership Commitment tracker").wait_for()
    page.get_by_label("Quarter for the figures").select_option("2026-Q2")
    page.get_by_role("button", name="Show figures").click()
    page.locator("#figures-role_modelling").get_by_text("Shadowing activities").wait_for()
    assert_accessible(page)
    _shot(page, "tracker")

    page.get_by_role("link", name="Protected self-development time").click()
    page.get_by_role("heading", name="Protected self-development time").wait_for()
    assert_accessible(page)
    page.get_by_label("In progress").check()
    page.get_by_label("Owner").fill("Director of medical education")
    page.get_by_label("Evidence: notes or links").fill("Rota policy: https://intranet/rota")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2027")
    page.get_by_role("button", name="Save criterion").click()
    page.locator(".nhsuk-error-summary").get_by_text("must be a real date").wait_for()
    assert_accessible(page)
    page.get_by_label("Month").fill("3")
    page.get_by_role("button", name="Save criterion").click()
    page.get_by_text("Criterion updated").wait_for()
    row = page.locator("#time-self-development")
    assert "In progress" in row.inner_text() and "31 March 2027" in row.inner_text()
    page.goto("/champion/commitment/time-self-development")
    assert "Status: In progress" in page.locator("#history").inner_text()
    _shot(page, "criterion")

    page.get_by_role("link", name="Board reports").first.click()
    page.get_by_role("heading", name="Board reports", exact=True).wait_for()
    assert_accessible(page)
    page.get_by_label("Quarter").select_option("2026-Q2")
    page.get_by_role("button", name="Produce the board report").click()
    page.get_by_role("heading", name="report to the board, Q2 2026").wait_for()
    page.get_by_label("Champion's commentary").fill(
        "Shadowing is offered at both sites.\n\nNext quarter: flexible rotas.")
    page.get_by_role("button", name="Save commentary").click()
    page.get_by_text("Commentary saved").wait_for()
    assert page.locator(".board-commentary").count() == 2
    assert_accessible(page)
    _shot(page, "board-report")
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Save commentary").is_visible()
    _shot(page, "board-report-print")
    page.emulate_media(media="screen")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the report as a PDF").click()
    download = info.value
    assert download.suggested_filename == "board-report-2026-q2.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")
