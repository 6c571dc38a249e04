"""Starting a feedback cycle when one is already in progress (issue 12, point 5): the filled-in
form makes no second draft on a second click, says where the cycle in progress is, and a trainee
whose programme opened their cycle is pointed at it instead of offered another."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from helpers import csrf_token, form_fields, new_cycle, start_cycle, text_of

from feedback360.extensions import db
from feedback360.models import Cohort, FeedbackCycle, User
from feedback360.services import cohort_launches, cycles


@pytest.fixture
def trainee(make_user):
    return make_user("tara.trainee@nhs.net", name="Tara Trainee")


@pytest.fixture
def browser(client, trainee, login):
    assert login(client, trainee).status_code == 302
    return client


def cycle_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(FeedbackCycle))


def test_the_same_form_posted_twice_makes_one_draft_and_says_where_it_is(app, browser):
    page = browser.get("/cycles/new")
    fields = form_fields(page, action="/cycles/new")
    first = browser.post("/cycles/new", data=fields)
    assert first.status_code == 302
    cycle_id = int(re.search(r"/cycles/(\d+)$", first.location).group(1))

    second = browser.post("/cycles/new", data=fields)  # a double click, or the back button
    assert second.status_code == 400
    assert cycle_count(app) == 1
    text = text_of(second)
    assert "<title>Error:" in second.text
    assert "You already have a feedback cycle in progress" in text
    assert f'href="/cycles/{cycle_id}"' in second.text
    assert f'href="#{"another"}"' in second.text  # the summary leads to the box to tick


def test_a_page_drawn_before_a_start_cannot_make_a_second_even_when_ticked(app, browser):
    new_cycle(browser)
    page = browser.get("/cycles/new")
    fields = {**form_fields(page, action="/cycles/new"), "another": "y"}
    assert browser.post("/cycles/new", data=fields).status_code == 302  # asked for on purpose
    again = browser.post("/cycles/new", data=fields)  # the same click arriving twice
    assert again.status_code == 400 and cycle_count(app) == 2


def test_another_cycle_only_when_asked_for_after_seeing_the_one_in_progress(app, browser):
    cycle_id = new_cycle(browser, title="Spring 360")
    page = browser.get("/cycles/new")
    text = text_of(page)
    assert "You already have a feedback cycle in progress" in text
    assert "Spring 360 : draft, closing" in text and f'href="/cycles/{cycle_id}"' in page.text
    assert "Yes, I want to start another feedback cycle as well" in text
    fields = form_fields(page, action="/cycles/new")
    assert "another" not in fields  # not ticked by default

    refused = browser.post("/cycles/new", data=fields)
    assert refused.status_code == 400
    assert "Tick the box if you want to start another as well" in text_of(refused)
    assert cycle_count(app) == 1

    made = browser.post("/cycles/new", data={**form_fields(refused, action="/cycles/new"),
                                              "another": "y"})
    assert made.status_code == 302 and cycle_count(app) == 2


def test_a_closed_cycle_does_not_stand_in_the_way(app, browser, trainee):
    cycle_id = new_cycle(browser)
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        cycle.status, cycle.opened_at = "closed", cycles.datetime.now(cycles.UTC)
        cycle.closed_at = cycle.opened_at
        db.session.commit()
    assert "already have" not in text_of(browser.get("/cycles/new"))
    assert start_cycle(browser).status_code == 302


def launch_for(app, make_user, make_cohort, trainee) -> int:
    """A programme lead's launch for the trainee's cohort; the trainee's new draft's id."""
    cohort = make_cohort("STP 2026 Medical Physics")
    lead = make_user("helen.lead@nhs.net", role="admin", name="Helen Lead")
    with app.test_request_context("/"):
        db.session.get(User, trainee.id).cohort_id = cohort.id
        launch = cohort_launches.launch_for_cohort(
            db.session.get(Cohort, cohort.id), instrument_key="clcf", title="Autumn 360",
            closes_on=cycles.today() + timedelta(days=30),
            launched_by=db.session.get(User, lead.id))
        db.session.commit()
        [cycle] = launch.cycles
        return cycle.id


def test_a_cycle_opened_by_the_programme_is_where_the_home_page_points(
        app, browser, trainee, make_user, make_cohort):
    cycle_id = launch_for(app, make_user, make_cohort, trainee)
    home = browser.get("/cycles/")
    text = text_of(home)
    assert "Start a new feedback cycle" not in text
    assert "Your programme has opened a feedback cycle for you" in text
    assert f'href="/cycles/{cycle_id}"' in home.text
    assert "opened for you by your programme for STP 2026 Medical Physics" in text
    assert "already have a feedback cycle in progress" in text_of(browser.get("/cycles/new"))


def test_an_own_draft_leaves_starting_another_as_the_lesser_choice(app, browser):
    cycle_id = new_cycle(browser, title="Spring 360")
    home = browser.get("/cycles/")
    assert "You have a feedback cycle in progress" in text_of(home)
    assert f'href="/cycles/{cycle_id}"' in home.text
    assert 'nhsuk-button nhsuk-button--secondary" href="/cycles/new"' in home.text


def test_concurrent_starts_make_one_draft(app, make_app, browser, db_backend):
    page = browser.get("/cycles/new")
    fields = form_fields(page, action="/cycles/new")
    assert fields["csrf_token"] == csrf_token(page)
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    racing = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 6, "max_overflow": 0})
    barrier = threading.Barrier(4)
    outcomes: list[int] = []

    def start() -> None:
        tab = racing.test_client()
        tab.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
        barrier.wait(timeout=30)
        outcomes.append(tab.post("/cycles/new", data=fields).status_code)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == [302, 400, 400, 400], outcomes
    assert cycle_count(app) == 1
