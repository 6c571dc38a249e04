"""A person signs in and out through the real UI in Chromium; every page passes axe-core."""

from __future__ import annotations

from a11y import assert_accessible, assert_fits
from helpers import totp_code
from playwright.sync_api import expect


def test_sign_in_set_up_two_step_verification_and_out(page, live_server, make_user):
    make_user("lead@nhs.net", role="admin", name="Lena Lead", two_factor=False)

    page.goto("/")
    assert page.url.endswith("/auth/login")
    assert_accessible(page)

    page.get_by_role("button", name="Sign in").click()
    error_summary = page.locator(".nhsuk-error-summary")
    error_summary.wait_for()
    assert "Enter your email address" in error_summary.inner_text()
    assert page.title().startswith("Error:")
    assert_accessible(page)

    page.get_by_label("Email address").fill("lead@nhs.net")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    # An admin's role needs a second factor: set it up before anything else.
    page.get_by_role("heading", name="Set up two-step verification").wait_for()
    assert page.get_by_role("img", name="QR code to add feedback360 to an authenticator app") \
        .is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Turn on two-step verification").click()
    page.locator(".nhsuk-error-summary").wait_for()
    assert_accessible(page)
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    page.get_by_label("Code", exact=True).fill(totp_code(key))
    page.get_by_role("button", name="Turn on two-step verification").click()
    page.get_by_text("Two-step verification is on").wait_for()
    assert page.locator(".app-recovery-codes li").count() == 10
    assert_accessible(page)
    page.get_by_role("link", name="I have saved my recovery codes").click()
    page.get_by_role("heading", name="Programme administration").wait_for()
    assert_accessible(page)

    page.get_by_role("link", name="Two-step verification").click()
    page.get_by_role("heading", name="Two-step verification").wait_for()
    assert "10 unused recovery codes" in page.content()
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You have signed out").wait_for()
    assert page.url.endswith("/auth/login")
    page.goto("/admin/users")
    assert "/auth/login" in page.url

    # Signing in again asks for a code from the app, the one just used refused.
    page.get_by_label("Email address").fill("lead@nhs.net")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Enter the code from your authenticator app").wait_for()
    assert_accessible(page)
    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Continue").click()
    page.locator(".nhsuk-error-summary").wait_for()
    assert_accessible(page)
    page.get_by_label("Code", exact=True).fill(totp_code(key, steps_ahead=1))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Users").wait_for()  # where the sign-in was asked from
    assert "lead@nhs.net" in page.content()
    assert_accessible(page)


def test_keyboard_only_sign_in_on_a_phone(mobile_page, live_server, make_user):
    """At 360 px: a refused sign-in is linked to the email box (issue 12, point 6), and the
    self-assessment is worded in the first person (point 7)."""
    make_user("trainee@nhs.net", name="Tara Trainee")
    page = mobile_page
    page.goto("/auth/login")
    # The skip link is the first stop and moves focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    page.get_by_label("Email address").focus()
    page.keyboard.type("trainee@nhs.net")
    page.keyboard.press("Tab")
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    # The refusal is in the error summary (which takes focus), linked to the email box.
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_focused()
    assert page.title().startswith("Error:")
    expect(summary.get_by_role("link")).to_have_text("Enter a correct email address and password")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Email address")).to_be_focused()
    assert_fits(page, 360)
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="My feedback cycles").wait_for()
    assert_fits(page, 360)
    assert_accessible(page)
    # The self-assessment on the phone: in the first person, with no "Not observed".
    page.get_by_role("button", name="Start a new feedback cycle").click()
    page.get_by_role("button", name="Create feedback cycle").click()
    page.get_by_role("link", name="1. Rate yourself").click()
    main = page.locator("main")
    expect(main).to_contain_text("I ask colleagues for feedback on my own practice.")
    expect(main).to_contain_text("Not had the chance to do this yet")
    expect(main).not_to_contain_text("Not observed")
    assert_fits(page, 360)
    # The footer's pages about the service: reached from it, readable at 360 px.
    for link, heading in [("Privacy notice", "Privacy notice"),
                          ("Accessibility statement", "Accessibility statement for feedback360"),
                          ("Contact us", "Contact us")]:
        page.locator(".nhsuk-footer").get_by_role("link", name=link).click()
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        assert_fits(page, 360)
        assert_accessible(page)


def test_error_pages_are_accessible(page, live_server):
    response = page.goto("/no/such/page")
    assert response.status == 404
    page.get_by_role("heading", name="Page not found").wait_for()
    assert_accessible(page)
