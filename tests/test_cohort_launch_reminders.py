"""The progress page's "Send a reminder" (issue 12, point 8): the programme lead confirms, then
every trainee of the launch whose cycle is still a draft is emailed, at most once every three
days, audited; and the page's counts read as counts against a minimum, never "12 of 10".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from helpers import ENOUGH, colleagues, csrf_token
from test_cohort_launch import (  # noqa: F401
    admin,
    cohort,
    four_trainees,
    launch_by_service,
    launch_cycles,
    lead,
    nominate,
)
from test_trainee_cycles import text_of

from feedback360.extensions import db
from feedback360.models import AuditEvent, CohortLaunch, FeedbackCycle, User
from feedback360.services import launch_reminders

DRAFTS = ["Nia Nominating", "Sid Selfdone", "Una Untouched"]  # Ola Open has launched


def remind_page(client, launch_id: int):
    page = client.get(f"/cohorts/launches/{launch_id}/remind")
    assert page.status_code == 200, text_of(page)
    return page


def send(client, launch_id: int):
    return client.post(f"/cohorts/launches/{launch_id}/remind",
                       data={"csrf_token": csrf_token(remind_page(client, launch_id))},
                       follow_redirects=True)


def reminded(app, smtp) -> set[str]:
    return {address for _, addresses in smtp.envelopes for address in addresses}


def test_the_lead_confirms_then_each_trainee_not_launched_is_emailed(
        app, lead, four_trainees, smtp):  # noqa: F811
    launch_id, _ = four_trainees
    progress = lead.get(f"/cohorts/launches/{launch_id}")
    assert "3 trainees have not launched yet" in text_of(progress)
    assert f'href="/cohorts/launches/{launch_id}/remind"' in progress.text
    confirmation = remind_page(lead, launch_id)
    names = re.search(r'<ul[^>]*id="to-remind">(.*?)</ul>', confirmation.text, re.S).group(1)
    assert re.findall(r"<li>([^<(]+?)\s*(?:\(|</li>)", names) == DRAFTS
    assert "Email 3 trainees" in text_of(confirmation)
    smtp.clear()
    done = send(lead, launch_id)
    assert ("We are emailing a reminder to 3 trainees: Nia Nominating, Sid Selfdone, "
            "Una Untouched.") in text_of(done)
    smtp.wait_for(3)
    assert reminded(app, smtp) == {"nia@nhs.net", "sid@nhs.net", "una@nhs.net"}
    [message] = smtp.messages_to("una@nhs.net")
    assert message["Subject"].startswith("Reminder from Helen Lead")
    cycle_id = launch_cycles(app, launch_id)["una@nhs.net"]
    assert any(link.endswith(f"/cycles/{cycle_id}") for link in smtp.links(message))
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).filter_by(action=launch_reminders.ACTION))
        assert event.target == f"cohort_launch:{launch_id}"
        names_by_id = dict(db.session.execute(db.select(User.id, User.name)).all())
        assert sorted(names_by_id[i] for i in event.detail["trainee_ids"]) == DRAFTS
        assert event.actor.name == "Helen Lead"


def test_one_reminder_every_three_days(app, login, admin, four_trainees, smtp):  # noqa: F811
    launch_id, _ = four_trainees

    def signed_in():  # a new sign-in at each moment: the last one has timed out
        client = app.test_client()
        login(client, admin)
        return client

    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        send(signed_in(), launch_id)
        smtp.wait_for(3)
        smtp.clear()
        clock.shift(timedelta(days=2, hours=23))
        lead = signed_in()
        page = lead.get(f"/cohorts/launches/{launch_id}")
        assert "A reminder was sent recently. You can send another from" in text_of(page)
        assert f'href="/cohorts/launches/{launch_id}/remind"' not in page.text
        refused = lead.post(f"/cohorts/launches/{launch_id}/remind",
                            data={"csrf_token": csrf_token(page)}, follow_redirects=True)
        assert "A reminder was sent recently" in text_of(refused)
        clock.shift(timedelta(hours=1, minutes=1))
        assert "We are emailing a reminder to 3 trainees" in text_of(send(signed_in(), launch_id))
    smtp.wait_for(3)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent).filter_by(
            action=launch_reminders.ACTION)) == 2


def test_nobody_is_reminded_once_every_trainee_has_launched_or_is_deactivated(
        app, lead, four_trainees, smtp):  # noqa: F811
    launch_id, ids = four_trainees
    nominate(app, ids["Nia Nominating"], colleagues(5, "peer", start=4) + ENOUGH[:2],
             launch=True)
    with app.app_context():
        for name in ("Sid Selfdone", "Una Untouched"):
            db.session.get(FeedbackCycle, ids[name]).trainee.active = False
        db.session.commit()
    page = lead.get(f"/cohorts/launches/{launch_id}")
    assert "not launched yet" not in text_of(page)
    assert "there is nobody to remind" in text_of(remind_page(lead, launch_id))
    smtp.clear()
    refused = lead.post(f"/cohorts/launches/{launch_id}/remind",
                        data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "there is nobody to remind" in text_of(refused)
    assert smtp.messages == []


@pytest.mark.parametrize("ended", ["closing date passed", "cohort archived"])
def test_a_launch_no_longer_running_sends_nothing(app, lead, four_trainees, smtp, ended):  # noqa: F811
    launch_id, _ = four_trainees
    with app.app_context():
        launch = db.session.get(CohortLaunch, launch_id)
        if ended == "cohort archived":
            launch.cohort.archived = True
        else:
            launch.closes_on = datetime.now(UTC).date()
        db.session.commit()
    page = lead.get(f"/cohorts/launches/{launch_id}")
    assert "Send a reminder" not in text_of(page)
    smtp.clear()
    refused = lead.post(f"/cohorts/launches/{launch_id}/remind",
                        data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "no longer running" in text_of(refused)
    assert smtp.messages == []


def test_an_expired_form_is_a_clear_400(lead, four_trainees):  # noqa: F811
    launch_id, _ = four_trainees
    refused = lead.post(f"/cohorts/launches/{launch_id}/remind", data={"csrf_token": "stale"})
    assert refused.status_code == 400
    assert "The form had expired" in text_of(refused)


def test_counts_above_the_minimum_read_as_counts_not_as_12_of_10(app, lead, four_trainees):  # noqa: F811
    launch_id, ids = four_trainees
    nominate(app, ids["Nia Nominating"], colleagues(7, "peer", start=4) + ENOUGH[:2])
    page = lead.get(f"/cohorts/launches/{launch_id}")
    row = next(row for row in re.findall(r"<tr class=\"nhsuk-table__row\">.*?</tr>", page.text,
                                         re.S) if "Nia Nominating" in row)
    lines = [text_of(line) for line in re.findall(
        r'<span class="app-cell-line[^"]*">(.*?)</span>', row, re.S)]
    # 12 nominated against a minimum of 10, 2 of them senior: each figure on a line of its own
    # (at 360 px a <br> between them was lost: "0 of 100 of 2 senior")
    assert "12 (at least 10 needed)" in lines and "2 senior (at least 2 needed)" in lines
    assert all(int(part) <= int(whole) for part, whole
               in re.findall(r"\b(\d+) of (?:the )?(\d+)\b", text_of(page)))
