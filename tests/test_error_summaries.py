"""Every form reports all its errors at once (issue 12, point 6): an all-bad submission of each
form page gets the NHS error summary listing every field's problem, each a link to an element of
the page with that id, the service's rules beside the form's own, and a title starting "Error: "."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from helpers import csrf_token, text_of

from feedback360.extensions import db
from feedback360.models import Cohort, User


@dataclass(frozen=True)
class Case:
    role: str | None  # who is signed in (None: nobody)
    page: str  # the form's page; "{cycle}", "{cohort}" and "{user}" are filled in
    data: dict[str, str]  # what is sent (with the page's CSRF token)
    fields: tuple[str, ...]  # the ids every summary entry must lead to, in any order
    words: tuple[str, ...] = ()  # messages that must be among them
    action: str | None = None  # where the form posts, if not its page; "GET" for a filter form


def past(name: str) -> dict[str, str]:
    day = date.today() - timedelta(days=3)
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month),
            f"{name}-year": str(day.year)}


CASES = {
    "sign-in, nothing typed": Case(None, "/auth/login", {"email": "", "password": ""},
                                   ("email", "password")),
    "sign-in, wrong password": Case(None, "/auth/login",
                                    {"email": "nobody@nhs.net", "password": "wrong"},
                                    ("email",), ("Enter a correct email address and password",)),
    "forgotten password": Case(None, "/auth/forgot-password", {"email": ""}, ("email",)),
    "change password": Case("trainee", "/account/password",
                            {"current_password": "", "password": "", "confirm": ""},
                            ("current_password", "password", "confirm")),
    "new cycle": Case("trainee", "/cycles/new",
                      {"instrument": "", "title": "t" * 201, **past("closes_on")},
                      ("instrument", "title", "closes_on-day"),
                      ("The closing date must be in the future",)),
    "nominee": Case("trainee", "/cycles/{cycle}", {"name": "", "email": "not-an-email",
                                                   "group": ""},
                    ("name", "email", "group"),
                    ("Enter an email address in the correct format",
                     "Select how this colleague works with you"),
                    action="/cycles/{cycle}/nominees"),
    "pasted nominees": Case("trainee", "/cycles/{cycle}", {"colleagues": ""}, ("colleagues",),
                            action="/cycles/{cycle}/nominees/bulk"),
    "invite a user": Case("admin", "/admin/users/invite",
                          {"name": "", "email": "not-an-email", "role": "",
                           "training_year": "eleventh"},
                          ("name", "email", "role", "training_year"),
                          ("Enter an email address in the correct format",)),
    "edit a user": Case("admin", "/admin/users/{user}/edit",
                        {"name": "", "email": "not-an-email", "role": "",
                         "training_year": "99"},
                        ("name", "email", "role", "training_year"),
                        ("Enter an email address in the correct format",)),
    "new cohort": Case("admin", "/admin/cohorts/new", {"name": "", "intake_year": "1900"},
                       ("name", "intake_year")),
    "cohort launch": Case("admin", "/cohorts/{cohort}/launch",
                          {"instrument": "", "title": "", **past("closes_on")},
                          ("instrument", "title", "closes_on-day"),
                          ("The closing date must be in the future",)),
    "audit filter": Case("admin", "/admin/audit",
                         {"action": "no.such.action", "date_from": "31/02/2026",
                          "date_to": "yesterday"},
                         ("action", "date_from", "date_to"), action="GET"),
}

SUMMARY = re.compile(r'<div class="nhsuk-error-summary".*?</ul>', re.S)
ENTRY = re.compile(r'<li>\s*(?:<a href="([^"]*)"[^>]*>)?(.*?)(?:</a>)?\s*</li>', re.S)


def summary_entries(html: str) -> list[tuple[str, str]]:
    """The error summary's entries: (link, message)."""
    found = SUMMARY.search(html)
    assert found, "no error summary on the page"
    return [(href, text_of(text)) for href, text in ENTRY.findall(found.group())]


@pytest.fixture
def people(app, make_user, make_cohort):
    cohort = make_cohort("STP 2026 Medical Physics")
    trainee = make_user("tara.trainee@nhs.net", name="Tara Trainee", cohort=cohort)
    admin = make_user("helen.lead@nhs.net", role="admin", name="Helen Lead")
    with app.app_context():
        from feedback360.services import cycles
        with app.test_request_context("/"):
            cycle = cycles.create_cycle(db.session.get(User, trainee.id), instrument_key="clcf",
                                        title="Spring 360", closes_on=None)
            db.session.commit()
            cycle_id = cycle.id
        assert db.session.get(Cohort, cohort.id) is not None
    return {"trainee": trainee, "admin": admin,
            "ids": {"cycle": cycle_id, "cohort": cohort.id, "user": trainee.id}}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_all_bad_submission_lists_every_error_each_linked_to_its_field(
        client, login, people, case):
    if case.role:
        assert login(client, people[case.role]).status_code == 302
    page_path = case.page.format(**people["ids"])
    if case.action == "GET":
        response = client.get(page_path, query_string=case.data)
    else:
        action = (case.action or case.page).format(**people["ids"])
        token = csrf_token(client.get(page_path))
        response = client.post(action, data={**case.data, "csrf_token": token})
    assert 400 <= response.status_code < 500, text_of(response)
    assert re.search(r"<title>\s*Error: ", response.text), "the title does not start 'Error: '"
    entries = summary_entries(response.text)
    links = [href for href, _ in entries]
    assert sorted(links) == sorted(f"#{field}" for field in case.fields), entries
    for href in links:  # each link leads to an element of the page
        assert re.search(rf'\sid="{re.escape(href[1:])}"', response.text), href
    messages = " ".join(message for _, message in entries)
    for words in case.words:
        assert words in messages, entries
