"""Generated values in every route's path, query string and form, as every role: never a 5xx.

One app and database per role (the authorisation matrix's world, plus a trainee with a draft cycle
and a rater part-way through a survey) shared by all of hypothesis's examples, so the whole file
runs in seconds. Each example takes one route and method as the role reaches it with real ids and
the form the page itself offers, then swaps in generated values: ids of any size or none, text
with NUL and other control characters, 40-digit numbers, text where numbers go. Forms start from
the page's own (valid) values so a single bad field reaches the checks behind the form.

Besides no 5xx, no request may reach the database with a value it refuses: the 400 that
``error_pages`` turns such a refusal into is only a net, so each refusal means a missing check.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from helpers import add_activity, csrf_token, form_fields
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_authorisation_matrix import client_for, routes
from test_authorisation_matrix import world as world  # the same objects, reused

from feedback360.extensions import db
from feedback360.models import ActivityFeedbackRequest, FeedbackCycle, Invitation, User
from feedback360.services import cycles, surveys, written_feedback

# The trainee is C, whose cycle (from the world's cohort launch) takes nominations; the coach
# coaches B, whose released cycle has comments and goals; the visitor is answering D's survey.
ROLES = {"visitor": None, "trainee": "c@nhs.net", "coach": "x@nhs.net", "admin": "admin@nhs.net",
         "champion": "champ@nhs.net"}
EXAMPLES_PER_ROLE = 120
VALUES_PER_ROLE = 250  # five roles: at least 1,250 generated values in all
# Signing out would leave the rest of the examples testing only the sign-in redirect.
SKIPPED = {"auth.logout"}
QUERY_NAMES = ("page", "role", "sort", "file", "format", "next", "reason", "launch", "specialty",
               "training_year", "site", "q", "needs", "quarter", "kind", "domain", "opportunity",
               "period", "by")
# Names posted besides a form's own, so a route without a form (or a form of another shape) meets
# text where it expects none.
EXTRA_FIELDS = ("name", "email", "text", "reason", "title", "action", "comments", "page")
# Every route meets each of these, whatever hypothesis draws (test_every_route_refuses_...).
BAD_ID, BAD_TEXT = 10**20, "a\x00b\x01c"
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

_controls = st.sampled_from(["\x00", "\x01", "\x08", "\t", "\n", "\r", "\x0b", "\x1b", "\x7f",
                             "\x85", "\x9f", "\u2028", "\ufeff", "\ufffd"])
TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(_controls, st.text(max_size=5)), max_size=6).map("".join),
    st.integers(min_value=-(10**45), max_value=10**45).map(str),
    st.sampled_from(["9" * 40, "2147483648", "-1", "0", "1e400", "NaN", "1.5", "", " ", "%00",
                     "../../etc/passwd", "\x00", "a\x00b", "<script>", "'; DROP TABLE x;--"]),
)


@pytest.fixture
def targets(app, world, login, make_user, role):
    """The role's client and CSRF token, and each (url pattern, arguments, method, real path
    values, the page's own form fields) of the routes it may use."""
    trainee = _trainee_with_launched_cycle(app, make_user)
    values = dict(world)
    email = ROLES[role]
    client = client_for(app, login, email)
    if role == "visitor":
        assert client.get(trainee["survey_link"]).status_code == 302  # a rater's session
        assert client.get(trainee["observer_link"]).status_code == 302  # an observer's too
    token = csrf_token(client.get("/auth/login" if email is None else "/",
                                  follow_redirects=True))
    own = {**values, "cycle_id": _cycle_of(app, email),
           "activity_id": trainee["c_activity_id"]} if role == "trainee" else values
    found = []
    for rule, method in routes(app):
        if rule.endpoint in SKIPPED:
            continue
        path = _path(rule.rule, own)
        fields = {}
        if "GET" in rule.methods:
            page = client.get(path)
            if page.status_code in (401, 403) or "/auth/login" in (page.location or ""):
                continue  # refused before any value is read: fuzzed as the roles it serves
            if method == "POST" and page.status_code == 200 and "<form" in page.text:
                fields = _own_form(page, path)
        found.append((rule.rule, sorted(rule.arguments), method, own, fields))
    return client, token, found


def _own_form(page, path):  # type: ignore[no-untyped-def]
    """The page's form that posts to ``path`` (else its largest), as a browser would send it."""
    try:
        return form_fields(page, action=path)
    except AssertionError:
        pass
    forms, index = [], 0
    while True:
        try:
            forms.append(form_fields(page, index=index))
        except AssertionError:
            return max(forms, key=len, default={})
        index += 1


def _cycle_of(app, email: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(db.select(FeedbackCycle.id).join(User, FeedbackCycle.trainee)
                                 .where(User.email == email))


def _trainee_with_launched_cycle(app, make_user):  # type: ignore[no-untyped-def]
    """Trainee D's launched cycle, and the link of its first rater."""
    owner_id = make_user("d@nhs.net", name="Dee Dee").id
    with app.test_request_context():
        cycle = cycles.create_cycle(db.session.get(User, owner_id), instrument_key="clcf",
                                    title="D's cycle",
                                    closes_on=date.today() + timedelta(days=30))
        for number, group in enumerate(["supervisor", "senior", *["peer"] * 10]):
            cycles.nominate(cycle, name=f"Dee rater {number}", email=f"d{number}@nhs.net",
                            group=group)
        cycles.launch(cycle)
        db.session.commit()
        invitation = db.session.scalars(
            db.select(Invitation).where(Invitation.cycle_id == cycle.id)).first()
        # D's activity awaits an observer's written feedback; C (the trainee role) has one too.
        feedback = ActivityFeedbackRequest(
            activity=add_activity(owner_id), observer_name="Olu Observer",
            observer_email="olu@nhs.net", element_keys=["self-awareness"],
            token_nonce="1" * 32, status="sent")
        db.session.add(feedback)
        c_activity = add_activity(db.session.scalar(
            db.select(User.id).where(User.email == "c@nhs.net")))
        db.session.commit()
        launched = {"cycle_id": cycle.id,
                    "survey_link": f"/s/{surveys.survey_token(invitation)}",
                    "observer_link": f"/o/{written_feedback.observer_token(feedback)}",
                    "c_activity_id": c_activity.id}
        db.session.remove()
    return launched


def _path(pattern: str, values: dict[str, object]) -> str:
    return _ARGUMENT.sub(lambda m: quote(str(values[m.group(1)]), safe=""), pattern)


def _send(client, token, method, path, query, data):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(path, query_string=query)
    return client.post(path, query_string=query, data={**data, "csrf_token": token})


def _assert_handled(response, where: str, caplog, before: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, f"{where}: {response.status_code}"
    refused = [r.getMessage() for r in caplog.records[before:]
               if "database refused" in r.getMessage()]
    assert not refused, f"{where}: {refused}"


def _fuzzable(fields: dict[str, str]) -> list[str]:
    return sorted({*fields, *EXTRA_FIELDS} - {"csrf_token"})


@st.composite
def requests(draw, found):  # type: ignore[no-untyped-def]
    """One route and method, with some of its values replaced by generated ones."""
    pattern, arguments, method, values, fields = draw(st.sampled_from(found))
    generated = 0
    path_values = dict(values)
    for name in arguments:
        if draw(st.booleans()):
            path_values[name] = draw(st.one_of(
                TEXT, st.integers(min_value=-(10**30), max_value=10**30)))
            generated += 1
    query = draw(st.dictionaries(st.sampled_from(QUERY_NAMES), TEXT, max_size=3))
    generated += len(query)
    data = dict(fields)
    if method == "POST":
        changed = draw(st.dictionaries(st.sampled_from(_fuzzable(fields)), TEXT,
                                       min_size=1, max_size=3))
        data.update(changed)
        generated += len(changed)
    return method, _path(pattern, path_values), query, data, generated


@pytest.fixture
def database_refusals(caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="feedback360.error_pages")
    return caplog


@pytest.mark.parametrize("role", ROLES)
def test_no_bad_value_gives_a_5xx(targets, role, database_refusals):
    """First every route once with the known bad values, then hypothesis's."""
    client, token, found = targets
    for pattern, arguments, method, values, fields in found:
        bad = {name: BAD_ID if isinstance(values[name], int) else BAD_TEXT for name in arguments}
        attempts = [(_path(pattern, {**values, **bad}), {"page": "9" * 40}, fields)]
        if method == "POST":
            attempts += [(_path(pattern, values), {}, {**fields, name: BAD_TEXT})
                         for name in _fuzzable(fields)]
        for path, query, data in attempts:
            before = len(database_refusals.records)
            response = _send(client, token, method, path, query, data)
            _assert_handled(response, f"{method} {path!r} {query!r} {data!r} as {role}",
                            database_refusals, before)

    generated: list[int] = []

    @settings(max_examples=EXAMPLES_PER_ROLE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def check(data):  # type: ignore[no-untyped-def]
        method, path, query, form, count = data.draw(requests(found))
        before = len(database_refusals.records)
        response = _send(client, token, method, path, query, form)
        _assert_handled(response, f"{method} {path!r} {query!r} {form!r} as {role}",
                        database_refusals, before)
        generated.append(count)

    check()
    assert sum(generated) >= VALUES_PER_ROLE, sum(generated)
