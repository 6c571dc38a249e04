"""Bad input gets a 404 or a form error, never a 500; stored odd characters break nothing.

``test_fuzz_inputs.py`` throws generated values at every route; these tests pin each rule down.
"""

from __future__ import annotations

import importlib
import io
import logging
import pkgutil
from datetime import date, timedelta

import pandas as pd
import pytest
from flask_wtf import FlaskForm
from helpers import add_sealed_response, csrf_token, text_of
from openpyxl import load_workbook
from sqlalchemy.exc import DataError
from test_error_pages import assert_error_page
from wtforms import PasswordField, StringField, TextAreaField

import feedback360
from feedback360 import mail
from feedback360.exports import to_csv, to_xlsx
from feedback360.extensions import db
from feedback360.models import Comment, FeedbackCycle, User
from feedback360.services import cycles, roster
from feedback360.text_input import Form

TOO_BIG = "9" * 40


@pytest.fixture
def admin(client, make_user, login):
    make_user("admin@nhs.net", role="admin", name="Ada Admin")
    login(client, "admin@nhs.net")
    return client


# --- Numbers in the URL --------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/cycles/99999999999999999999",
    "/cycles/2147483648",  # one past PostgreSQL's integer range
    "/admin/cohorts/2147483647",  # in range, but no such cohort
    f"/admin/cohorts/{TOO_BIG}",
    f"/admin/trainees/{TOO_BIG}/coaches",
    f"/cohorts/{TOO_BIG}/report",
])
def test_an_id_beyond_the_database_range_is_not_found(admin, path):
    assert_error_page(admin.get(path), 404, "Page not found")


@pytest.mark.parametrize("page", [TOO_BIG, "100001", "-1", "0", "abc", "1.5", "1e3", " 1",
                                  "\u0663", "2"])  # Arabic-Indic three; a page past the last
def test_a_page_number_that_is_not_a_page_is_not_found(admin, page):
    assert_error_page(admin.get("/admin/users", query_string={"page": page}), 404,
                      "Page not found")


@pytest.mark.parametrize("query", [{}, {"page": ""}, {"page": "1"}])
def test_the_first_page_needs_no_number(admin, query):
    assert admin.get("/admin/users", query_string=query).status_code == 200


# --- Control characters in forms -----------------------------------------------------------------

class _Sample(Form):
    class Meta:
        csrf = False

    line = StringField("Full name")
    lines = TextAreaField("Comments")
    password = PasswordField("Password")


@pytest.mark.parametrize(("line", "lines", "refused"), [
    ("Ann Smith", "First line\r\nsecond\tindented", {}),
    ("Ann\x00Smith", "", {"line": "Full name contains a null character"}),
    ("Ann\tSmith", "", {"line": "Full name contains a tab or line break"}),
    ("Ann\nSmith", "", {"line": "Full name contains a tab or line break"}),
    ("", "Fine\x00", {"lines": "Comments contains a null character"}),
    ("", "Bell\x07", {"lines": "an invisible control character (U+0007)"}),
    ("", "Escape\x1b[2J", {"lines": "(U+001B)"}),
    ("", "Next line\x85", {"lines": "(U+0085)"}),
    ("", "Delete\x7f", {"lines": "(U+007F)"}),
])
def test_control_characters_are_a_form_error_except_line_breaks_in_a_text_area(
        app, line, lines, refused):
    with app.test_request_context(method="POST", data={
            "line": line, "lines": lines, "password": "pass\x00word\x1b"}):
        form = _Sample()
        assert form.validate() is not refused
        assert set(form.errors) == set(refused)  # never the password: hashed, never shown
        for name, words in refused.items():
            [message] = form.errors[name]
            assert words in message and "Remove it" in message


def _forms(cls: type) -> set[type]:
    return {cls, *(sub for child in cls.__subclasses__() for sub in _forms(child))}


def test_every_form_of_the_app_checks_its_text(app):
    for module in pkgutil.walk_packages(feedback360.__path__, "feedback360."):
        importlib.import_module(module.name)
    ours = {form for form in _forms(FlaskForm) if form.__module__.startswith("feedback360.")}
    assert len(ours) > 15
    assert not {f"{form.__module__}.{form.__qualname__}" for form in ours
                if not issubclass(form, Form)}


def test_a_nul_in_the_invite_form_is_an_error_and_keeps_what_was_typed(admin):
    page = admin.get("/admin/users/invite")
    response = admin.post("/admin/users/invite", data={
        "csrf_token": csrf_token(page), "name": "Ann\x00Smith", "email": "ann.smith@nhs.net",
        "role": "coach", "cohort_id": "0", "site": "St Elsewhere"})
    assert response.status_code == 400
    assert "Full name contains a null character" in text_of(response)
    assert 'value="ann.smith@nhs.net"' in response.text
    assert 'value="St Elsewhere"' in response.text
    with admin.application.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "ann.smith@nhs.net")) \
            is None


def test_a_sign_in_with_a_nul_in_the_email_is_a_form_error(client):
    page = client.get("/auth/login")
    response = client.post("/auth/login", data={
        "email": "ann\x00@nhs.net", "password": "x", "csrf_token": csrf_token(page)})
    assert response.status_code in (200, 400)
    assert "Email address contains a null character" in text_of(response)


def test_an_imported_row_with_a_control_character_is_a_problem_on_its_line(app):
    text = ("name,email,role,site\nAnn\x00Smith,ann@nhs.net,trainee,\n"
            "Bo Bell,bo@nhs.net,coach,Ward\x017\n")
    with app.app_context():
        planned = roster.plan(text)
    assert not planned.creates
    assert [(p.line, p.reasons) for p in planned.problems] == [
        (2, (roster_refusal("The name", "a null character"),)),
        (3, (roster_refusal("The site", "an invisible control character (U+0001)"),))]


def roster_refusal(label: str, what: str) -> str:
    return (f"{label} contains {what}, which cannot be saved. Remove it (it may have come "
            "with text pasted from another program) and try again")


def test_a_value_the_database_refuses_is_a_400_and_a_warning(app, caplog):
    @app.get("/refused")
    def refused():
        raise DataError("INSERT ...", {}, ValueError("NUL (0x00) bytes"))

    caplog.set_level(logging.WARNING, logger="feedback360.error_pages")
    assert_error_page(app.test_client().get("/refused"), 400,
                      "There is a problem with your request")
    assert [r.getMessage() for r in caplog.records] == [
        "The database refused a value on GET refused: ValueError"]


# --- Values stored before, with odd characters ---------------------------------------------------

ODD = "Odd\x01\x08\x0b\x1b\x7f\x85 name"  # what PostgreSQL and SQLite both store


def test_stored_control_characters_break_neither_page_nor_export(admin, make_user):
    make_user("odd@nhs.net", name=ODD, site="Ward\x1f7")
    assert admin.get("/admin/users").status_code == 200
    frame = pd.DataFrame({"Name\x02": [ODD, "=1+1\x00"], "Score": [1, 2]})
    book = load_workbook(io.BytesIO(to_xlsx({"Sheet\x03": frame})))
    [sheet] = book.worksheets
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Name", "Score"], ["Odd\x7f\x85 name", 1], ["'=1+1", 2]]
    assert b"\x00" not in to_csv(frame) and "=1+1" in to_csv(frame).decode("utf-8-sig")


def _launch(app, trainee_id: int) -> int:  # type: ignore[no-untyped-def]
    """A launched cycle of ``trainee_id`` with twelve colleagues invited (mail queued)."""
    with app.test_request_context():
        cycle = cycles.create_cycle(db.session.get(User, trainee_id), instrument_key="clcf",
                                    title="Cycle", closes_on=date.today() + timedelta(days=30))
        for number, group in enumerate(["supervisor", "senior", *["peer"] * 10]):
            cycles.nominate(cycle, name=f"Rater {number}", email=f"r{number}@nhs.net",
                            group=group)
        cycles.launch(cycle)
        db.session.commit()
        return cycle.id


def test_a_stored_name_with_a_line_break_still_sends_its_invitations(app, make_user, smtp):
    _launch(app, make_user("dee@nhs.net", name="Dee\r\nBcc: someone@example.com").id)
    with app.app_context():
        report = mail.deliver_due()
    assert report.sent == 12 and not report.failed
    assert {m["Subject"].strip() for m in smtp.messages} == {
        "Dee Bcc: someone@example.com asks for your feedback on their leadership"}
    assert all(m["Bcc"] is None for m in smtp.messages)


def test_a_comment_sealed_with_a_nul_does_not_stop_its_cycle_closing(app, make_user):
    cycle_id = _launch(app, make_user("dee@nhs.net").id)
    with app.app_context():
        add_sealed_response(cycle_id, "peer", {"pq-sa-1": 4},
                            {"strengths": "Calm\x00 in a crisis"})
        db.session.commit()
        cycles.close_cycle(db.session.get(FeedbackCycle, cycle_id), by=None)
        db.session.commit()
        assert db.session.scalars(db.select(Comment.text)).all() == ["Calm in a crisis"]
