"""Trainees a cohort launch has no cycle for: the progress page lists them and says why, and while
the launch is running the lead opens cycles in it for those the rules allow (late joiners, or
trainees whose other cycle has since closed), on the launch's questionnaire and closing date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers import csrf_token
from test_cohort_launch import admin, cohort, launch_by_service, launch_cycles, lead  # noqa: F401
from test_trainee_cycles import text_of

from feedback360.extensions import db
from feedback360.models import AuditEvent, CohortLaunch, FeedbackCycle, InstrumentVersion, User
from feedback360.services import DomainError, cohort_launches, cycles


@pytest.fixture
def launched(app, cohort, admin, make_user):  # noqa: F811
    """Ann launched; Bob skipped (his own cycle was open); Cy deactivated; Dee joined later."""
    make_user("ann@nhs.net", name="Ann Included", cohort=cohort)
    bob = make_user("bob@nhs.net", name="Bob Busy", cohort=cohort)
    make_user("cy@nhs.net", name="Cy Deactivated", cohort=cohort, active=False)
    with app.app_context():
        cycles.create_cycle(db.session.get(User, bob.id), instrument_key="clcf",
                            title="Bob's own", closes_on=cycles.today() + timedelta(days=20))
        db.session.commit()
    launch_id = launch_by_service(app, cohort, admin)
    make_user("dee@nhs.net", name="Dee Later", cohort=cohort, password=None)
    return launch_id


def cells(page, table_id: str) -> list[list[str]]:
    """Each body row of one table as its cells' text (the small-screen headings left out)."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page.text, re.S)
    assert table, f"no table {table_id}"
    markup = re.sub(r'<span class="nhsuk-table-responsive__heading"[^>]*>.*?</span>', "",
                    table.group(0), flags=re.S)
    return [[text_of(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r'<tr class="nhsuk-table__row">(.*?)</tr>', markup, re.S)]


def progress_page(client, launch_id: int):
    page = client.get(f"/cohorts/launches/{launch_id}")
    assert page.status_code == 200, text_of(page)
    return page


def add(client, launch_id: int):
    token = csrf_token(progress_page(client, launch_id))
    return client.post(f"/cohorts/launches/{launch_id}/add", data={"csrf_token": token})


def test_the_progress_page_lists_who_is_not_in_the_launch_and_why(lead, launched):  # noqa: F811
    page = progress_page(lead, launched)
    assert cells(page, "missing") == [
        ["Bob Busy", "Had a draft or open feedback cycle of their own",
         "Already has a draft or open feedback cycle"],
        ["Cy Deactivated", "Account was deactivated", "Account deactivated"],
        ["Dee Later", "Not in the cohort when the launch opened",
         "Can be added to this launch"]]
    assert "Open a cycle in this launch for 1 trainee" in text_of(page)


def test_adding_opens_a_cycle_for_each_trainee_the_rules_allow_and_emails_them(
        app, lead, launched, smtp):  # noqa: F811
    smtp.clear()
    done = add(lead, launched)
    assert done.status_code == 302 and done.location.endswith(f"/cohorts/launches/{launched}")
    page = lead.get(done.location)
    assert ("1 trainee now has a draft feedback cycle in this launch and we are emailing "
            "them: Dee Later.") in text_of(page)
    by_email = launch_cycles(app, launched)
    assert set(by_email) == {"ann@nhs.net", "dee@nhs.net"}
    with app.app_context():
        launch = db.session.get(CohortLaunch, launched)
        added = db.session.get(FeedbackCycle, by_email["dee@nhs.net"])
        assert (added.status, added.title, added.closes_on, added.instrument_version_id) == (
            "draft", launch.title, launch.closes_on, launch.instrument_version_id)
        event = db.session.scalar(db.select(AuditEvent).filter_by(
            action="cohort.launch_extended"))
        assert event.target == f"cohort_launch:{launched}"
        assert event.detail["trainee_ids"] == [added.trainee_id]
    [message] = smtp.messages_to("dee@nhs.net")
    assert any("/auth/activate/" in link for link in smtp.links(message))  # not yet activated
    # Dee is in the progress table now, and nobody is left to add: a second post adds nothing
    assert [row[0] for row in cells(page, "progress")].count(
        "Dee Later Account not activated yet") == 1
    assert [row[0] for row in cells(page, "missing")] == ["Bob Busy", "Cy Deactivated"]
    assert "Open a cycle in this launch" not in text_of(page)
    again = lead.post(f"/cohorts/launches/{launched}/add",
                      data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "there is nobody to add" in text_of(again)
    assert set(launch_cycles(app, launched)) == {"ann@nhs.net", "dee@nhs.net"}


def test_a_launch_whose_cycles_have_all_closed_takes_no_more(app, lead, launched):  # noqa: F811
    with app.app_context():
        for cycle_id in launch_cycles(app, launched).values():
            cycle = db.session.get(FeedbackCycle, cycle_id)
            cycle.status, cycle.opened_at = "closed", datetime.now(UTC)
            cycle.closed_at = cycle.opened_at
        db.session.commit()
    page = progress_page(lead, launched)
    assert "This launch is no longer running" in text_of(page)
    assert "Open a cycle in this launch" not in text_of(page)
    assert cells(page, "missing")[2] == ["Dee Later", "Not in the cohort when the launch opened",
                                         "Can be included in a new launch"]
    refused = lead.post(f"/cohorts/launches/{launched}/add",
                        data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "no longer running" in text_of(refused)
    assert set(launch_cycles(app, launched)) == {"ann@nhs.net"}


def test_an_archived_cohort_or_a_changed_questionnaire_takes_no_more(
        app, cohort, launched, admin):  # noqa: F811
    with app.test_request_context("/"):
        launch = db.session.get(CohortLaunch, launched)
        version = db.session.get(InstrumentVersion, launch.instrument_version_id)
        version.sha256 = "0" * 64
        with pytest.raises(DomainError, match="questionnaire has changed"):
            cohort_launches.add_to_launch(launch, added_by=db.session.get(User, admin.id))
        launch.cohort.archived = True
        with pytest.raises(DomainError, match="archived"):
            cohort_launches.add_to_launch(launch, added_by=db.session.get(User, admin.id))
        db.session.rollback()


def test_an_expired_form_is_a_clear_400(lead, launched):  # noqa: F811
    refused = lead.post(f"/cohorts/launches/{launched}/add", data={"csrf_token": "stale"})
    assert refused.status_code == 400
    assert "The form had expired" in text_of(refused)
