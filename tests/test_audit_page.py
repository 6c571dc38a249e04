"""The admin audit page (issue 10, point 5): filters, paging newest first, a safe CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers import text_of

from feedback360.extensions import db
from feedback360.models import AuditEvent

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def trail(app, make_user):
    """Events by two people on three days, one naming a formula; returns the people's ids."""
    ann = make_user("ann.lead@nhs.net", role="admin")
    bob = make_user("bob@nhs.net", role="coach")
    with app.app_context():
        for day in range(3):
            for person, action in ((ann, "cohort.exported"), (bob, "report.viewed")):
                db.session.add(AuditEvent(actor_id=person.id, action=action,
                                          target=f"cycle:{day}", client_address="192.0.2.1",
                                          user_agent="Firefox/128",
                                          created_at=START + timedelta(days=day)))
        db.session.add(AuditEvent(actor_id=None, action="users.imported",
                                  target='=HYPERLINK("http://evil")', created_at=START))
        db.session.commit()
    return {"ann": ann.id, "bob": bob.id}


@pytest.fixture
def lead(app, trail, login):
    client = app.test_client()
    assert login(client, "ann.lead@nhs.net").status_code == 302
    return client


def rows(page) -> list[str]:
    """"action target" of each row of the events table, in the order shown."""
    return [f"{action} {target}" for action, target in re.findall(
        r'>Action </span>([^<]*)</td>\s*<td[^>]*><span[^>]*>Target </span>([^<]*)</td>',
        page.text)]


def test_the_admin_home_links_to_the_audit_trail(lead):
    assert 'href="/admin/audit"' in lead.get("/home/admin").text


@pytest.mark.parametrize("query, expected", [
    ("who=BOB", ["report.viewed cycle:2", "report.viewed cycle:1", "report.viewed cycle:0"]),
    ("action=cohort.exported&date_from=2026-11-02",
     ["cohort.exported cycle:2", "cohort.exported cycle:1"]),
    ("date_from=2026-11-02&date_to=2026-11-02",  # at the same time: the later-recorded first
     ["report.viewed cycle:1", "cohort.exported cycle:1"]),
    ("who=%25", []),  # a LIKE wildcard is a literal character here
])
def test_filters_choose_events_newest_first(lead, query, expected):
    page = lead.get(f"/admin/audit?{query}")
    assert page.status_code == 200
    assert rows(page) == expected


def test_each_event_shows_who_when_where_and_the_browser(lead):
    text = text_of(lead.get("/admin/audit?who=bob"))
    assert "2026-11-03 09:00:00" in text and "bob@nhs.net" in text
    assert "192.0.2.1" in text and "Firefox/128" in text


def test_events_are_paged(app, lead, trail):
    with app.app_context():
        db.session.add_all(AuditEvent(actor_id=trail["bob"], action="logout",
                                      created_at=START - timedelta(minutes=n))
                           for n in range(60))
        db.session.commit()
    first, second = lead.get("/admin/audit"), lead.get("/admin/audit?page=2")
    assert "Page 1 of 2" in text_of(first) and 'href="/admin/audit?page=2"' in first.text
    assert "Page 2 of 2" in text_of(second)
    assert lead.get("/admin/audit?page=3").status_code == 404
    assert lead.get("/admin/audit?page=" + "9" * 40).status_code == 404


@pytest.mark.parametrize("query, message", [
    ("date_from=2026-11-03&date_to=2026-11-01", "must be the same as or after"),
    ("date_from=yesterday", "Not a valid date value"),
    ("action=no.such.action", "Choose an action from the list"),
])
def test_bad_filters_get_a_clear_400(lead, query, message):
    page = lead.get(f"/admin/audit?{query}")
    assert page.status_code == 400 and message in text_of(page)
    assert lead.get(f"/admin/audit/download?{query}").status_code == 400


def test_the_csv_export_is_quoted_formula_safe_and_itself_audited(app, lead, trail):
    response = lead.get("/admin/audit/download")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.data.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(body)))
    assert [row["action"] for row in table[:2]] == ["login", "report.viewed"]  # newest first
    assert len(table) == 8 and table[1]["time_utc"] == "2026-11-03T09:00:00+00:00"
    assert (table[1]["client_address"], table[1]["browser"]) == ("192.0.2.1", "Firefox/128")
    assert {row["target"] for row in table if row["action"] == "users.imported"} == {
        "'=HYPERLINK(\"http://evil\")"}
    assert '"bob@nhs.net"' in body  # text is quoted
    with app.app_context():
        [event] = db.session.scalars(db.select(AuditEvent).filter_by(action="audit.exported"))
        assert event.actor_id == trail["ann"]


@pytest.mark.parametrize("role", ["trainee", "coach"])
def test_only_admins_reach_the_audit_trail(app, make_user, login, role):
    client = app.test_client()
    login(client, make_user(role=role))
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit/download").status_code == 403
