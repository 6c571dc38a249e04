"""A programme lead creates a cohort, imports its people from a CSV file with a bad row, and
assigns a coach to several trainees at once, then manages one person's account (details, role,
activation email, sign out everywhere, deactivation, a subject access request), erases another
(the confirmation wants their address typed), reads the audit trail and limits another lead to
one programme, in Chromium; every page passes axe-core."""

from __future__ import annotations

import zipfile

from a11y import assert_accessible
from helpers import enter_code_if_asked

CSV = """Name,Email,Role,Cohort,Specialty,Training year,Site
Amara Okafor,amara@nhs.net,trainee,STP 2026 Genomics,Genomics,1,Leeds
Ben Hughes,ben@nhs.net,trainee,STP 2026 Genomics,Genomics,2,Preston
Dr Priya Sharma,priya@nhs.net,coach,,,,
Nobody,not-an-email,trainee,STP 2026 Genomics,,12,
"""


def test_cohort_import_and_bulk_coach_assignment(page, live_server, make_user, make_cohort,
                                                 smtp, tmp_path):
    make_user("lead@nhs.net", role="admin", name="Lena Lead")
    make_user("sam@nhs.net", role="admin", name="Sam Second")
    make_cohort("STP 2025 Physics", programme="Scientist Training Programme", intake_year=2025)
    page.goto("/auth/login")
    page.get_by_label("Email address").fill("lead@nhs.net")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    enter_code_if_asked(page, "lead@nhs.net")

    page.get_by_role("link", name="Cohorts").first.click()
    page.get_by_role("heading", name="Cohorts", exact=True).wait_for()
    assert_accessible(page)
    page.get_by_role("link", name="Create a cohort").click()
    page.get_by_role("button", name="Create cohort").click()
    page.locator(".nhsuk-error-summary").wait_for()
    assert_accessible(page)
    page.get_by_label("Cohort name").fill("STP 2026 Genomics")
    page.get_by_label("Intake year").fill("2026")
    page.get_by_role("button", name="Create cohort").click()
    page.get_by_role("heading", name="STP 2026 Genomics", exact=True).wait_for()

    page.goto("/admin/users/import")
    page.get_by_role("button", name="Preview the import").click()
    page.locator(".nhsuk-error-summary").wait_for()
    assert_accessible(page)
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Preview the import").click()
    page.get_by_role("heading", name="Check the import", exact=True).wait_for()
    assert "not-an-email" in page.locator("#problems + table").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Import 3 people and skip 1 row").click()
    page.get_by_role("heading", name="Import complete", exact=True).wait_for()
    assert_accessible(page)
    assert len(smtp.wait_for(3)) == 3

    page.get_by_role("link", name="Go to cohorts").click()
    page.get_by_role("link", name="STP 2026 Genomics").click()
    page.get_by_role("heading", name="STP 2026 Genomics", exact=True).wait_for()
    assert_accessible(page)
    page.get_by_label("Select Amara Okafor").check()
    page.get_by_label("Select Ben Hughes").check()
    page.get_by_label("Coach").select_option(label="Dr Priya Sharma")
    page.get_by_role("button", name="Assign coach").click()
    page.get_by_text("Dr Priya Sharma is now the coach of Amara Okafor, Ben Hughes").wait_for()
    assert page.locator("tbody tr").filter(has_text="Awaiting activation").count() == 2

    page.get_by_role("link", name="Change the coaches of Amara Okafor").click()
    page.get_by_role("heading", name="Coaches", exact=True).wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Remove Dr Priya Sharma").click()
    page.get_by_text("has no coach yet").wait_for()


    # One person's page: details, role, activation email, sign out everywhere, deactivation.
    page.get_by_role("link", name="Users").first.click()
    page.get_by_role("link", name="Amara Okafor", exact=True).click()
    page.get_by_role("heading", name="Amara Okafor", exact=True).wait_for()
    assert "activation email last sent" in page.content()
    assert_accessible(page)
    page.get_by_role("button", name="Resend the activation email").click()
    page.locator(".nhsuk-error-summary").filter(has_text="try again in").wait_for()
    assert_accessible(page)

    page.get_by_role("link", name="Change Amara Okafor's details or role").click()
    page.get_by_label("Training year").fill("12")
    page.get_by_label("Email address").fill("Ben@NHS.net")
    page.get_by_role("button", name="Save changes").click()
    page.locator(".nhsuk-error-summary").wait_for()
    assert "Training year must be between 1 and 10" in page.content()
    assert_accessible(page)
    page.get_by_label("Training year").fill("2")
    page.get_by_role("button", name="Save changes").click()
    page.locator(".nhsuk-error-summary").filter(
        has_text="Another account already uses this email address").wait_for()
    page.get_by_label("Email address").fill("Amara.Okafor@NHS.net")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Amara Okafor's details saved").wait_for()
    assert "amara.okafor@nhs.net" in page.content()

    page.get_by_role("button", name="Sign Amara Okafor out everywhere").click()
    page.get_by_text("Amara Okafor is signed out on every device").wait_for()
    page.get_by_role("link", name="Deactivate Amara Okafor's account").click()
    page.get_by_role("heading", name="Deactivate this account?").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Deactivate the account").click()
    page.get_by_text("Amara Okafor's account is deactivated").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Reactivate Amara Okafor's account").click()
    page.get_by_text("Amara Okafor's account is active again").wait_for()

    # a subject access request from her page: the ZIP downloads; an unknown address holds nothing
    page.get_by_role("link", name="Download everything held about Amara Okafor").click()
    page.get_by_role("heading", name="Subject access request", exact=True).wait_for()
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download what is held").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert {"account.json", "summary.html"} <= set(archive.namelist())
    page.get_by_label("Email address").fill("nobody@example.org")
    page.get_by_role("button", name="Download what is held").click()
    page.get_by_text("The service holds nothing about nobody@example.org").wait_for()
    assert_accessible(page)

    # erasing a person: the confirmation lists what goes and wants their address typed
    page.goto("/admin/users")
    page.get_by_role("link", name="Ben Hughes", exact=True).click()
    page.get_by_role("link", name="Erase Ben Hughes").click()
    page.get_by_role("heading", name="Erase this person?").wait_for()
    assert "This cannot be undone" in page.content()
    assert_accessible(page)
    page.get_by_label("Type their email address to confirm").fill("amara.okafor@nhs.net")
    page.get_by_role("button", name="Erase Ben Hughes").click()
    page.locator(".nhsuk-error-summary").filter(has_text="not this person's").wait_for()
    assert_accessible(page)
    page.get_by_label("Type their email address to confirm").fill("ben@nhs.net")
    page.get_by_role("button", name="Erase Ben Hughes").click()
    page.get_by_role("heading", name="Ben Hughes is erased").wait_for()
    assert "no published cohort figure changed" in page.content()
    assert_accessible(page)

    # the audit trail shows what was just done, filtered, and refuses a backwards date range
    page.goto("/home/admin")
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_role("heading", name="Audit trail", exact=True).wait_for()
    assert_accessible(page)
    page.get_by_label("Action").select_option("user.deactivated")
    page.get_by_label("Who (email contains)").fill("lead@")
    page.get_by_role("button", name="Show events").click()
    page.get_by_text("1 event, newest first").wait_for()
    assert_accessible(page)
    page.get_by_label("From (date, UTC)").fill("2099-01-02")
    page.get_by_label("To (date, UTC)").fill("2099-01-01")
    page.get_by_role("button", name="Show events").click()
    page.locator(".nhsuk-error-summary").wait_for()
    assert_accessible(page)

    # another programme lead limited to one programme (audited; see test_lead_scope.py)
    page.goto("/admin/users?role=admin")
    page.get_by_role("link", name="Sam Second", exact=True).click()
    page.get_by_role("link", name="Change the programmes Sam Second leads").click()
    page.get_by_role("heading", name="Which programmes does Sam Second lead?").wait_for()
    assert_accessible(page)
    page.get_by_label("Scientist Training Programme").check()
    page.get_by_role("button", name="Save programmes").click()
    page.get_by_text("Sam Second's programmes saved").wait_for()
    assert_accessible(page)
