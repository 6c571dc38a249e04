"""The leadership opportunities catalogue in Chromium: a lead fills an empty catalogue with the
FMLM examples; a trainee on a 360 px phone filters it, registers interest and proposes an
opportunity; the lead sees who is interested and approves the proposal. Every page passes
axe-core."""

from __future__ import annotations

from a11y import assert_accessible
from helpers import enter_code_if_asked


def sign_in(page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    enter_code_if_asked(page, email)


def test_catalogue_journey(page, new_context, live_server, make_user, smtp):
    make_user("lead@nhs.net", role="admin", name="Lena Lead")
    make_user("tara@nhs.net", name="Tara Trainee")

    sign_in(page, "lead@nhs.net")
    page.get_by_role("link", name="Opportunities").first.click()
    page.get_by_role("heading", name="The catalogue is empty").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Add the FMLM examples").click()
    page.get_by_text("Added 36 opportunities").wait_for()
    assert_accessible(page)

    phone = new_context(mobile=True).new_page()
    sign_in(phone, "tara@nhs.net")
    phone.goto("/opportunities")
    phone.get_by_label("Kind").select_option(label="Interview panel")
    phone.get_by_role("button", name="Filter").click()
    phone.get_by_text("5 opportunities match the filters").wait_for()
    assert_accessible(phone)
    phone.get_by_role("link", name="Sit on the interview panel for a chief registrar").click()
    phone.get_by_role("button", name="Register my interest").wait_for()
    assert_accessible(phone)
    phone.get_by_role("button", name="Register my interest").click()
    phone.get_by_text("Your interest is registered").wait_for()
    assert_accessible(phone)

    phone.goto("/opportunities/propose")
    phone.get_by_role("button", name="Send proposal").click()
    phone.locator(".nhsuk-error-summary").wait_for()
    assert_accessible(phone)
    phone.get_by_label("Title").fill("Join the pathology network's audit group")
    phone.get_by_label("Kind of opportunity").select_option(label="Committee")
    phone.get_by_label("Description").fill("Quarterly audit review across the network's labs.")
    phone.get_by_label("How to get involved").fill("Email the network manager.")
    phone.get_by_label("Critically evaluating").check()
    phone.get_by_role("button", name="Send proposal").click()
    phone.get_by_role("heading", name="Your proposals").wait_for()
    assert_accessible(phone)

    page.goto("/home/admin")
    page.get_by_role("link", name="Review the proposals").click()
    page.get_by_role("link", name="Join the pathology network's audit group").click()
    page.get_by_role("button", name="Approve and open").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Approve and open").click()
    page.get_by_text("Proposal approved").wait_for()
    page.goto("/admin/opportunities?status=open&page=2")
    page.get_by_role("link", name="Sit on the interview panel for a chief registrar").click()
    page.get_by_role("heading", name="Who registered interest").wait_for()
    assert "tara@nhs.net" in page.locator("table").inner_text()
    assert_accessible(page)
    assert smtp.wait_for(1)
