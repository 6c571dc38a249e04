"""Where a programme asks for it, a trainee sends their nominee list to their coach, who returns
it with a reason and then approves it, in Chromium; every page passes axe-core."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from a11y import assert_accessible
from helpers import ENOUGH
from playwright.sync_api import expect

from feedback360.extensions import db
from feedback360.models import CoachAssignment, User
from feedback360.services import cycles

TITLE = "Leadership feedback spring"


def sign_in(page: Any, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()


def test_send_return_and_approve_a_nominee_list(app, new_context, live_server, make_user,
                                                make_cohort, smtp):
    cohort = make_cohort("STP 2026 Approved", nominee_approval_required=True)
    trainee = make_user("tara@nhs.net", name="Tara Trainee", cohort=cohort)
    coach = make_user("cora@nhs.net", role="coach", name="Cora Coach")
    with app.test_request_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        cycle = cycles.create_cycle(db.session.get(User, trainee.id), instrument_key="clcf",
                                    title=TITLE, closes_on=date.today() + timedelta(days=30))
        cycles.nominate_many(cycle, "\n".join(ENOUGH))
        db.session.commit()
        cycle_id = cycle.id
    tara, cora = new_context().new_page(), new_context().new_page()

    sign_in(tara, trainee.email)
    tara.goto(f"/cycles/{cycle_id}")
    expect(tara.locator("#approval")).to_be_visible()
    assert_accessible(tara)
    tara.get_by_role("button", name="Send the list to Cora Coach for approval").click()
    expect(tara.locator("main")).to_contain_text("Waiting for your coach")
    assert_accessible(tara)

    sign_in(cora, coach.email)
    cora.goto("/coach/trainees")
    expect(cora.locator("#needs-action")).to_contain_text(
        "Approve the colleagues Tara Trainee nominated")
    assert_accessible(cora)
    cora.get_by_role("link", name=f"Approve the colleagues Tara Trainee nominated for {TITLE}") \
        .click()
    cora.get_by_role("heading", level=1, name="Colleagues Tara Trainee has nominated").wait_for()
    assert_accessible(cora)
    cora.get_by_role("button", name="Return the list").click()
    cora.locator(".nhsuk-error-summary").wait_for()
    assert_accessible(cora)
    cora.get_by_label("What should they change?").fill("Add a nurse you work with")
    cora.get_by_role("button", name="Return the list").click()
    expect(cora.locator("main")).to_contain_text("List returned to Tara Trainee")

    tara.reload()
    expect(tara.locator("#approval ~ .nhsuk-warning-callout")).to_contain_text(
        "Add a nurse you work with")
    assert_accessible(tara)
    tara.get_by_label("Full name").fill("Nia Nurse")
    tara.get_by_label("Email address").fill("nia@nhs.net")
    tara.get_by_label("How they work with you").select_option(label="Nurse or midwife")
    tara.get_by_role("button", name="Add colleague", exact=True).click()
    tara.get_by_role("button", name="Send the list to Cora Coach for approval").click()

    cora.goto(f"/coach/cycles/{cycle_id}/nominees")
    expect(cora.locator("main")).to_contain_text("nia@nhs.net")
    cora.get_by_role("button", name="Approve these colleagues").click()
    expect(cora.locator("main")).to_contain_text("You approved Tara Trainee's colleagues")

    tara.reload()
    expect(tara.locator("main")).to_contain_text("Approved by Cora Coach")
    tara.get_by_role("button", name="Review and launch").click()
    tara.get_by_role("button", name="Launch and send 11 invitations").click()
    expect(tara.locator("main")).to_contain_text("Your feedback cycle is open")
