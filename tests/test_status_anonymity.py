"""What the trainee sees while colleagues answer never tells whether a colleague of a small group
answered (issue 9, point 4): removing, adding back or a decline show the same whatever that
colleague had done, and the senior part of the rule is not told from a group of fewer than k.

Colleagues answer, decline and save drafts through the real survey pages."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import csrf_token
from hypothesis import given, settings
from hypothesis import strategies as st
from test_survey import answer_all, launch_cycle, open_link, save_page, submit
from test_trainee_cycles import post, text_of

from feedback360.extensions import db
from feedback360.instruments import load_instrument
from feedback360.models import Invitation
from feedback360.scoring import AnonymityRules, score_cycle
from feedback360.scoring.disclosed import disclosed
from feedback360.services.response_status import disclose, from_report

TARGET = ("Mo Manager", "mo.manager@nhs.net", "management")  # the only manager asked
SENIOR = "selma.senior@nhs.net"  # the only consultant asked (and one named supervisor)


def act(app, link: str, history: str) -> None:
    """One colleague, on a client of their own, following their emailed link."""
    rater = app.test_client()
    if history == "nothing":
        return
    open_link(rater, link)
    if history == "answered":
        answer_all(rater)
        assert submit(rater).status_code == 302
    elif history == "draft":
        assert save_page(rater, 1, {"pq-sa-1": "4"}, action="later").status_code == 302
    else:
        page = rater.get("/survey/decline")
        assert rater.post("/survey/decline", data={"csrf_token": csrf_token(page),
                                                   "reason": "On leave"}).status_code == 302


def normalised(page: str, cycle_id: int) -> list[str]:
    """The page's text, line by line, without what differs between two trainees' cycles."""
    page = re.sub(r'name="csrf_token" value="[^"]*"', "", page)
    page = re.sub(r'nonce="[^"]*"', "", page)
    page = re.sub(rf"/cycles/{cycle_id}\b", "/cycles/N", page)
    page = re.sub(r"/nominees/\d+/", "/nominees/N/", page)
    page = re.sub(r"trainee\d+@nhs\.net", "trainee@nhs.net", page)
    return [line.strip() for line in page.splitlines() if line.strip()]


def changes(before: list[str], after: list[str]) -> list[str]:
    return [line for line in difflib.unified_diff(before, after, n=0, lineterm="")
            if not line.startswith("@@")]


def walk(app, smtp, make_user, login, history: str, number: int) -> list[list[str]]:
    """A trainee's cycle where the manager did ``history``: the trainee's cycle page, then what
    removing the manager and adding them back change on it, and the messages each gives."""
    smtp.clear()
    trainee = make_user(f"trainee{number}@nhs.net", name="Tara Trainee")
    launched = launch_cycle(app, smtp, trainee)
    for email in ("pat.peer@nhs.net", "priya.peer@nhs.net"):
        act(app, launched.links[email], "answered")
    act(app, launched.links[TARGET[1]], history)
    browser = app.test_client()
    assert login(browser, trainee).status_code == 302
    page = f"/cycles/{launched.cycle_id}"
    with app.app_context():
        target = db.session.scalar(db.select(Invitation.id).filter_by(
            cycle_id=launched.cycle_id, rater_email=TARGET[1]))
    seen = [normalised(browser.get(page).text, launched.cycle_id)]
    removed = post(browser, page, f"{page}/nominees/{target}/remove")
    seen.append(normalised(browser.get(removed.location).text, launched.cycle_id))
    readded = post(browser, page, f"{page}/nominees", {
        "name": TARGET[0], "email": TARGET[1], "group": TARGET[2]})
    seen.append(normalised(browser.get(readded.location).text, launched.cycle_id))
    seen.append(normalised(browser.get("/cycles/").text, launched.cycle_id))
    return seen


@pytest.mark.parametrize("history", ["answered", "declined", "draft", "nothing"])
def test_removing_and_adding_back_show_the_same_whatever_the_colleague_had_done(
        app, smtp, make_user, login, history):
    baseline = walk(app, smtp, make_user, login, "nothing", 1)
    pages = walk(app, smtp, make_user, login, history, 2)
    # What removing, then adding back, changes on the page (and the messages they give) is the
    # same as for a colleague who had done nothing...
    for n in (1, 2):
        assert changes(pages[n - 1], pages[n]) == changes(baseline[n - 1], baseline[n])
    # ...and before removal only how many answered, or declined, in all may differ.
    assert "Management" not in text_of("\n".join(pages[0])).split("Colleagues you asked")[0]
    for line in changes(baseline[0], pages[0]):
        assert line.startswith(("---", "+++")) or "colleagues answered" in line \
            or "cannot give feedback" in line, line


def senior_page(app, smtp, make_user, login, senior_answers: bool, number: int) -> list[str]:
    """Everyone but one colleague answered: the consultant, or a fellow trainee."""
    trainee = make_user(f"trainee{number}@nhs.net", name="Tara Trainee")
    smtp.clear()
    launched = launch_cycle(app, smtp, trainee)
    silent = "pat.peer@nhs.net" if senior_answers else SENIOR
    for email, link in launched.links.items():
        act(app, link, "nothing" if email == silent else "answered")
    browser = app.test_client()
    assert login(browser, trainee).status_code == 302
    return normalised(browser.get(f"/cycles/{launched.cycle_id}").text, launched.cycle_id)


def test_with_one_consultant_asked_the_page_does_not_tell_whether_they_answered(
        app, smtp, make_user, login):
    answered = senior_page(app, smtp, make_user, login, True, 1)
    silent = senior_page(app, smtp, make_user, login, False, 2)
    assert answered == silent
    text = text_of("\n".join(answered))
    assert "9 of 10 colleagues answered" in text
    assert "At least 2 senior colleagues" in text and "Not shown" in text
    assert "Close now" not in text and "Closing early is not offered for this cycle" in text


# --- the rule, on any nominations -----------------------------------------------------------

CLCF = load_instrument(Path(__file__).resolve().parent.parent / "instruments" / "clcf.yaml")
SMALL_K = 3


@st.composite
def two_ways_to_answer(draw: st.DrawFn):
    """Who was asked per group, and two sets of answers that differ only in which of the small
    anonymous groups' colleagues answered (as many in all)."""
    asked = {g: draw(st.integers(0, 6)) for g in CLCF.group_keys}
    small = [g.key for g in CLCF.rater_groups
             if g.anonymous and 0 < asked[g.key] < SMALL_K]
    first = {g: draw(st.integers(0, n)) for g, n in asked.items()}
    moved = sum(first[g] for g in small)
    second = dict(first)
    for g in small:  # the same number, answered by others of the small groups
        second[g] = 0
    for g in small:
        second[g] = min(asked[g], moved)
        moved -= second[g]
    return asked, first, second if moved == 0 else first


@settings(max_examples=200, deadline=None, database=None)
@given(two_ways_to_answer())
def test_what_is_told_never_depends_on_which_small_groups_colleagues_answered(case) -> None:
    asked, first, second = case
    told = [disclose(CLCF, asked, answered, SMALL_K) for answered in (first, second)]
    assert told[0] == told[1]
    assert told[0].count == sum(first.values())


# --- the status page and the report group alike (issue 12, point 9) --------------------------

def report_of(answered: dict[str, int]):  # type: ignore[no-untyped-def]
    """The report of ``answered`` responses per group, each rating every statement."""
    rows = [(f"{group}{n}", group, False, item, 4) for group, count in answered.items()
            for n in range(count) for item in CLCF.item_keys]
    frame = pd.DataFrame(rows, columns=["response", "group", "is_self", "item", "score"])
    return score_cycle(frame, CLCF, AnonymityRules(SMALL_K))


def test_the_senior_part_is_met_on_the_page_only_where_the_report_says_so() -> None:
    """A named supervisor and two of three consultants answered: three seniors, two needed. The
    report pools the two consultants with smaller groups and cannot say how many were senior;
    the status page used to call the senior part met, counting groups the report merges."""
    asked = {"supervisor": 1, "senior": 3, "peer": 8}
    answered = {"supervisor": 1, "senior": 2, "peer": 8}
    report = report_of(answered)
    assert not disclosed(report, CLCF).validity.met  # "whether that part is met is not shown"
    while_open = disclose(CLCF, asked, answered, SMALL_K)
    assert while_open.count == 11 and while_open.senior_told
    assert not while_open.senior_met and not while_open.met  # "Not yet", no "Close now"
    closed = from_report(report, CLCF, declined=0)
    assert (closed.count, closed.senior_met, closed.met) == (11, None, False)

    answered["senior"] = 3  # the consultants now a column of their own: met, here and there
    report = report_of(answered)
    assert disclosed(report, CLCF).validity.met
    assert disclose(CLCF, asked, answered, SMALL_K).met and from_report(report, CLCF, 0).met


@st.composite
def nominations_and_answers(draw: st.DrawFn):
    asked = {g: draw(st.integers(0, 6)) for g in CLCF.group_keys}
    return asked, {g: draw(st.integers(0, n)) for g, n in asked.items()}


@settings(max_examples=60, deadline=None, database=None)
@given(nominations_and_answers())
def test_the_page_never_says_more_than_the_report_would(case) -> None:
    asked, answered = case
    report = disclosed(report_of(answered), CLCF)
    while_open = disclose(CLCF, asked, answered, SMALL_K)
    closed = from_report(report_of(answered), CLCF, declined=0)
    assert while_open.count == closed.count == report.validity.responses
    assert closed.met == report.validity.met
    if while_open.met:
        assert report.validity.met
