"""Cohort launch (issue 5, point 2): the programme lead opens a cycle for every trainee of a
cohort, each trainee is emailed, and the lead follows progress in counts, never scores.

The launch goes through the real pages (CSRF included); the trainees' emails are those the real
SMTP server captured, and their links are followed with the test client.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers import csrf_token, form_fields, message_html, message_text, path_of
from sqlalchemy import event
from test_survey import PAGE_KEYS
from test_trainee_cycles import ENOUGH, colleagues, long_date, paste, post, table_rows, text_of

from feedback360.extensions import db
from feedback360.models import (
    AuditEvent,
    Cohort,
    CohortLaunch,
    CohortLaunchCycle,
    CycleScore,
    FeedbackCycle,
    Invitation,
    User,
)
from feedback360.services import DomainError, cohort_launches, cycles, surveys
from feedback360.services.launch_progress import launch_progress, launch_totals
from feedback360.services.response_status import response_status
from feedback360.services.surveys import Draft

RULE = "At least 10 colleagues must respond, including at least 2 senior colleagues"


@pytest.fixture
def admin(make_user):
    return make_user("helen.lead@nhs.net", role="admin", name="Helen Lead")


@pytest.fixture
def cohort(make_cohort):
    return make_cohort("STP 2026 Medical Physics")


@pytest.fixture
def lead(client, login, admin):
    """The programme lead's signed-in client."""
    assert login(client, admin).status_code == 302
    return client


def launch_page(cohort_id: int) -> str:
    return f"/cohorts/{cohort_id}/launch"


def fill_in(client, cohort_id: int, **changes: str):
    """Submit the launch form as the page fills it in, with ``changes``: the confirmation."""
    page = client.get(launch_page(cohort_id))
    assert page.status_code == 200, text_of(page)
    fields = form_fields(page, action=launch_page(cohort_id))
    return client.post(launch_page(cohort_id), data={**fields, **changes})


def confirm(client, cohort_id: int, confirmation):
    assert confirmation.status_code == 200, text_of(confirmation)
    return client.post(launch_page(cohort_id),
                       data=form_fields(confirmation, action=launch_page(cohort_id)))


def launch_through_pages(client, cohort_id: int, **changes: str) -> int:
    done = confirm(client, cohort_id, fill_in(client, cohort_id, **changes))
    assert done.status_code == 302, text_of(done)
    return int(re.search(r"/cohorts/launches/(\d+)$", done.location).group(1))


def launch_by_service(app, cohort, admin, title: str = "Autumn 360") -> int:
    with app.test_request_context("/"):
        launch = cohort_launches.launch_for_cohort(
            db.session.get(Cohort, cohort.id), instrument_key="clcf", title=title,
            closes_on=cycles.today() + timedelta(days=30),
            launched_by=db.session.get(User, admin.id))
        db.session.commit()
        return launch.id


def launch_cycles(app, launch_id: int) -> dict[str, int]:
    """The launch's cycle ids by trainee email."""
    with app.app_context():
        rows = db.session.execute(
            db.select(User.email, CohortLaunchCycle.cycle_id)
            .join(CohortLaunchCycle, CohortLaunchCycle.trainee_id == User.id)
            .where(CohortLaunchCycle.launch_id == launch_id)).all()
        return dict(rows)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


# --- What raters and trainees do, through the services ------------------------------------------

def self_assess(app, cycle_id: int) -> None:
    with app.test_request_context("/"):
        cycle = db.session.get(FeedbackCycle, cycle_id)
        items = cycles.instrument_for(cycle).item_keys
        cycle.self_draft = Draft(answers=dict.fromkeys(items, 3), comments={}).dump()
        surveys.submit_self_assessment(cycle)
        db.session.commit()


def nominate(app, cycle_id: int, lines: list[str], *, launch: bool = False) -> None:
    with app.test_request_context("/"):
        cycle = db.session.get(FeedbackCycle, cycle_id)
        added, problems = cycles.nominate_many(cycle, "\n".join(lines))
        assert added and not problems
        if launch:
            cycles.launch(cycle)
        db.session.commit()


def respond(app, cycle_id: int, *emails: str, rated: float = 1.0) -> None:
    """Each colleague answers through the survey service; ``rated`` of the items rated."""
    with app.test_request_context("/"):
        for email in emails:
            invitation = db.session.scalar(db.select(Invitation).filter_by(
                cycle_id=cycle_id, rater_email=email))
            items = cycles.instrument_for(invitation.cycle).item_keys
            cut = round(len(items) * rated)
            answers = {key: (4 if n < cut else None) for n, key in enumerate(items)}
            surveys.keep_draft(invitation, Draft(answers=answers, comments={}))
            surveys.submit_invitation(invitation.id, invitation.token_nonce)
        db.session.commit()


def emails_of(lines: list[str]) -> list[str]:
    return [line.split(", ")[1] for line in lines]


# --- The launch form -----------------------------------------------------------------------------

def test_admin_home_links_each_cohort_to_a_launch(lead, cohort):
    home = lead.get("/home/admin")
    assert f'href="/cohorts/{cohort.id}/launch"' in home.text
    assert f'href="/cohorts/{cohort.id}/launches"' in home.text
    assert "Launch a 360 for this cohort" in text_of(home)


def test_launch_form_defaults(lead, cohort):
    page = lead.get(launch_page(cohort.id))
    fields = form_fields(page, action=launch_page(cohort.id))
    today, closes = cycles.today(), cycles.today() + timedelta(weeks=6)
    assert fields["instrument"] == "clcf"
    assert fields["title"] == f"STP 2026 Medical Physics 360, {today:%B %Y}"
    assert (fields["closes_on-day"], fields["closes_on-month"], fields["closes_on-year"]) == \
        (str(closes.day), str(closes.month), str(closes.year))
    text = text_of(page)
    assert "already has a draft or open feedback cycle does not get another" in text
    assert RULE in text


def test_launch_confirms_then_opens_a_cycle_and_emails_each_trainee(
        app, lead, cohort, admin, make_user, smtp):
    ready = make_user("ria.ready@nhs.net", name="Ria Ready", cohort=cohort)
    new = make_user("noel.new@nhs.net", name="Noel New", cohort=cohort, password=None)
    busy = make_user("bo.busy@nhs.net", name="Bo Busy", cohort=cohort)
    gone = make_user("del.gone@nhs.net", name="Del Gone", cohort=cohort, active=False)
    make_user("other@nhs.net", name="Otto Elsewhere")  # in no cohort: never touched
    with app.test_request_context("/"):
        cycles.create_cycle(db.session.get(User, busy.id), instrument_key="clcf",
                            title="My own", closes_on=None)
        db.session.commit()
    closes = cycles.today() + timedelta(days=40)

    confirmation = fill_in(lead, cohort.id, title="Medical Physics autumn 360",
                           **{"closes_on-day": str(closes.day),
                              "closes_on-month": str(closes.month),
                              "closes_on-year": str(closes.year)})
    text = text_of(confirmation)
    assert "When you launch, 2 trainees each get a draft feedback cycle and an email" in text
    assert "1 of them has not activated their account yet" in text
    skipped = table_rows(confirmation)
    assert len(skipped) == 2
    assert "Bo Busy" in skipped[0] and "Already has a draft or open feedback cycle" in skipped[0]
    assert "Del Gone" in skipped[1] and "Account deactivated" in skipped[1]
    assert count(app, CohortLaunch) == 0 and count(app, FeedbackCycle) == 1
    assert smtp.messages == []

    done = confirm(lead, cohort.id, confirmation)
    assert done.status_code == 302
    launch_id = int(done.location.rsplit("/", 1)[1])
    flashed = text_of(lead.get(done.location))
    assert "2 trainees now have a draft feedback cycle" in flashed
    assert "Not opened for 2 trainees: Bo Busy (already has a draft or open feedback cycle); " \
        "Del Gone (account deactivated)" in flashed

    opened = launch_cycles(app, launch_id)
    assert set(opened) == {ready.email, new.email}
    with app.app_context():
        for cycle_id in opened.values():
            cycle = db.session.get(FeedbackCycle, cycle_id)
            assert cycle.status == "draft" and cycle.title == "Medical Physics autumn 360"
            assert cycle.closes_on == closes and cycle.cohort_launch.id == launch_id
            assert cycle.instrument_version.key == "clcf"
        audit = db.session.scalar(db.select(AuditEvent).filter_by(action="cohort.launched"))
        assert audit.actor_id == admin.id and audit.target == f"cohort_launch:{launch_id}"
        assert audit.detail["cycles"] == 2
        assert audit.detail["skipped"] == [
            {"trainee_id": busy.id, "reason": "Already has a draft or open feedback cycle"},
            {"trainee_id": gone.id, "reason": "Account deactivated"}]
        created = db.session.scalars(db.select(AuditEvent).filter_by(
            action="cycle.created", actor_id=admin.id)).all()
        assert len(created) == 2  # the lead opened them, not the trainees

    assert sorted(m["To"] for m in smtp.messages) == sorted([ready.email, new.email])
    for message in smtp.messages:
        body, markup = message_text(message), message_html(message)
        for wanted in ("Helen Lead, your programme lead", "STP 2026 Medical Physics",
                       "Medical Physics autumn 360", long_date(closes), "Rate yourself",
                       "Nominate at least 10 colleagues, including at least 2 senior colleagues",
                       RULE):
            assert wanted in body and wanted in markup, wanted
    [ready_mail] = smtp.messages_to(ready.email)
    assert smtp.links(ready_mail) == [f"http://localhost/cycles/{opened[ready.email]}"]
    assert "activate" not in message_text(ready_mail).lower()
    [new_mail] = smtp.messages_to(new.email)
    activation, cycle_link = smtp.links(new_mail)
    assert "/auth/activate/" in activation
    assert cycle_link == f"http://localhost/cycles/{opened[new.email]}"
    assert "First activate it and choose a password" in message_text(new_mail)


def test_a_second_confirmation_launches_nothing_more(app, lead, cohort, make_user, smtp):
    make_user(cohort=cohort)
    confirmation = fill_in(lead, cohort.id)
    assert confirm(lead, cohort.id, confirmation).status_code == 302
    smtp.clear()
    again = confirm(lead, cohort.id, confirmation)
    assert again.status_code == 400
    assert "Every trainee in STP 2026 Medical Physics already has a draft or open feedback " \
        "cycle" in text_of(again)
    assert count(app, CohortLaunch) == 1 and count(app, FeedbackCycle) == 1
    assert smtp.messages == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_archived_cohort_is_refused(app, lead, make_cohort, make_user, method):
    archived = make_cohort("STP 2024 Genomics", archived=True)
    make_user(cohort=archived)
    token = csrf_token(lead.get("/home/admin"))
    response = (lead.get(launch_page(archived.id)) if method == "GET" else
                lead.post(launch_page(archived.id), data={"csrf_token": token}))
    assert response.status_code == 409
    assert "STP 2024 Genomics is archived" in text_of(response)
    assert count(app, FeedbackCycle) == 0


@pytest.mark.parametrize(("members", "message"), [
    ([], "STP 2026 Medical Physics has no trainees yet"),
    (["busy", "busy"], "Every trainee in STP 2026 Medical Physics already has a draft or open "
                       "feedback cycle"),
    (["busy", "deactivated"], "No trainee in STP 2026 Medical Physics can be given a new "
                              "cycle: each has a deactivated account or already has"),
])
def test_a_cohort_with_nobody_to_launch_for_is_refused(app, lead, cohort, make_user, members,
                                                       message):
    make_user(role="coach", cohort=cohort)  # not a trainee: never counts
    for member in members:
        trainee = make_user(cohort=cohort, active=member != "deactivated")
        if member == "busy":
            with app.test_request_context("/"):
                cycles.create_cycle(db.session.get(User, trainee.id), instrument_key="clcf",
                                    title="My own", closes_on=None)
                db.session.commit()
    response = fill_in(lead, cohort.id)
    assert response.status_code == 400
    assert message in text_of(response)
    assert count(app, CohortLaunch) == 0


def test_unknown_cohort_is_not_found(lead):
    assert lead.get(launch_page(999)).status_code == 404
    assert lead.get("/cohorts/999/launches").status_code == 404
    assert lead.get("/cohorts/launches/999").status_code == 404


@pytest.mark.parametrize(("days", "parts", "message"), [
    (0, None, "The closing date must be in the future"),
    (-3, None, "The closing date must be in the future"),
    (91, None, "The closing date must be within 90 days"),
    (None, ("", "", ""), "Enter the closing date"),
    (None, ("31", "2", "2027"), "Closing date must be a real date"),
    (None, ("1", "", "2027"), "Closing date must include a month"),
])
def test_bad_closing_dates_are_refused(app, lead, cohort, make_user, smtp, days, parts,
                                       message):
    make_user(cohort=cohort)
    if days is not None:
        day = cycles.today() + timedelta(days=days)
        parts = (str(day.day), str(day.month), str(day.year))
    response = fill_in(lead, cohort.id, **dict(zip(
        ("closes_on-day", "closes_on-month", "closes_on-year"), parts, strict=True)))
    assert response.status_code == 400
    text = text_of(response)
    assert "There is a problem" in text and message in text
    assert 'href="#closes_on-day"' in response.text  # the summary leads to the field
    # Confirming with the bad date is refused the same way, and nothing is created.
    forged = {**form_fields(response, action=launch_page(cohort.id)), "confirmed": "yes"}
    assert lead.post(launch_page(cohort.id), data=forged).status_code == 400
    assert count(app, FeedbackCycle) == 0 and smtp.messages == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"instrument": "no-such-questionnaire"}, "Select a questionnaire"),
    ({"title": "  "}, "Enter a title"),
    ({"title": "x" * 201}, "Title must be 200 characters or fewer"),
])
def test_other_bad_input_is_refused(app, lead, cohort, make_user, changes, message):
    make_user(cohort=cohort)
    response = fill_in(lead, cohort.id, **changes)
    assert response.status_code == 400 and message in text_of(response)
    assert count(app, FeedbackCycle) == 0


# --- The trainee's side --------------------------------------------------------------------------

def sign_in_from(client, link: str, user):
    """Follow a mailed link signed out: to sign in, then back where the link pointed."""
    first = client.get(path_of(link))
    assert first.status_code == 302 and "/auth/login" in first.location
    page = client.get(first.location)
    landed = client.post(first.location, data={
        "email": user.email, "password": "correct horse battery", "csrf_token": csrf_token(page)})
    assert landed.status_code == 302
    return client, landed.location


def test_trainee_follows_the_email_and_runs_the_cycle_as_their_own(
        app, lead, cohort, make_user, smtp):
    trainee = make_user("ria.ready@nhs.net", name="Ria Ready", cohort=cohort)
    launch_id = launch_through_pages(lead, cohort.id)
    cycle_id = launch_cycles(app, launch_id)[trainee.email]
    [message] = smtp.messages_to(trainee.email)
    smtp.clear()

    client, landed = sign_in_from(app.test_client(), smtp.links(message)[0], trainee)
    assert landed == f"/cycles/{cycle_id}"
    page = client.get(landed)
    assert page.status_code == 200
    assert "Opened for you by your programme (Helen Lead) for everyone in STP 2026 Medical " \
        "Physics" in text_of(page)
    assert f'href="/cycles/{cycle_id}"' in client.get("/cycles/").text  # in "My feedback"

    base = f"/cycles/{cycle_id}/self"
    for n, keys in enumerate(PAGE_KEYS, start=1):
        assert post(client, f"{base}/page/{n}", data={
            "action": "continue", **dict.fromkeys(keys, "4")}).status_code == 302
    assert post(client, f"{base}/review", f"{base}/submit").status_code == 302
    assert paste(client, cycle_id, ENOUGH).status_code == 302
    launched = post(client, f"/cycles/{cycle_id}", f"/cycles/{cycle_id}/launch")
    assert launched.status_code == 302
    assert sorted(m["To"] for m in smtp.messages) == sorted(emails_of(ENOUGH))

    progress = lead.get(f"/cohorts/launches/{launch_id}")
    [row] = table_rows(progress)
    assert "Ria Ready" in row and "Open" in row and "Done" in row
    assert "10 (at least 10 needed)" in text_of(row) and "0 of 10" in text_of(row)


def test_a_trainee_who_never_activated_activates_then_opens_the_cycle(
        app, lead, cohort, make_user, smtp):
    trainee = make_user("noel.new@nhs.net", name="Noel New", cohort=cohort, password=None)
    launch_id = launch_through_pages(lead, cohort.id)
    cycle_id = launch_cycles(app, launch_id)[trainee.email]
    [message] = smtp.messages_to(trainee.email)
    activation, cycle_link = smtp.links(message)

    client = app.test_client()
    page = client.get(path_of(activation))
    assert page.status_code == 200
    activated = client.post(path_of(activation), data={
        "password": "a long new passphrase", "confirm": "a long new passphrase",
        "csrf_token": csrf_token(page)})
    assert activated.status_code == 302
    cycle_page = client.get(path_of(cycle_link))
    assert cycle_page.status_code == 200 and f"/cycles/{cycle_id}/self" in cycle_page.text


def test_no_page_lets_the_trainee_change_a_cohort_cycles_questionnaire(
        app, lead, cohort, make_user, login):
    """Every form the trainee can post about their cycle, sent another questionnaire."""
    trainee = make_user("ria.ready@nhs.net", name="Ria Ready", cohort=cohort)
    launch_id = launch_through_pages(lead, cohort.id)
    cycle_id = launch_cycles(app, launch_id)[trainee.email]
    client = app.test_client()
    assert login(client, trainee).status_code == 302
    token = csrf_token(client.get(f"/cycles/{cycle_id}"))
    posted = 0
    for rule in app.url_map.iter_rules():
        if "cycle_id" not in rule.arguments or "POST" not in rule.methods:
            continue
        url = rule.build({name: cycle_id if name == "cycle_id" else 1
                          for name in rule.arguments}, append_unknown=False)[1]
        response = client.post(url, data={"csrf_token": token, "instrument": "clcf-enhanced",
                                          "title": "Changed", "closes_on-day": "1"})
        assert response.status_code < 500, url
        posted += 1
    assert posted > 5
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        assert cycle.instrument_version.key == "clcf" and cycle.title != "Changed"


# --- Progress ------------------------------------------------------------------------------------

@pytest.fixture
def four_trainees(app, cohort, admin, make_user):
    """A launch of four, each at another stage; returns (launch id, cycle ids by name)."""
    names = ["Una Untouched", "Sid Selfdone", "Nia Nominating", "Ola Open"]
    for name in names:
        make_user(f"{name.split()[0].lower()}@nhs.net", name=name, cohort=cohort)
    launch_id = launch_by_service(app, cohort, admin)
    by_email = launch_cycles(app, launch_id)
    ids = {name: by_email[f"{name.split()[0].lower()}@nhs.net"] for name in names}
    self_assess(app, ids["Sid Selfdone"])
    nominate(app, ids["Nia Nominating"], colleagues(3, "peer"))
    self_assess(app, ids["Ola Open"])
    nominate(app, ids["Ola Open"], ENOUGH, launch=True)
    return launch_id, ids


def progress_of(app, launch_id: int):
    with app.app_context():
        launch = db.session.get(CohortLaunch, launch_id)
        rows = launch_progress(launch)
        return rows, launch_totals(launch, rows)


def test_progress_matches_each_cycles_own_counts_as_raters_respond(app, four_trainees):
    launch_id, ids = four_trainees
    open_id = ids["Ola Open"]
    peers = emails_of(ENOUGH)[2:]

    def check(answered: int) -> None:
        rows, totals = progress_of(app, launch_id)
        with app.app_context():
            for row in rows:
                cycle = db.session.get(FeedbackCycle, row.cycle_id)
                assert row.nominated == cycles.nomination_progress(cycle)
                assert row.responses == response_status(cycle, app.config["ANONYMITY_MIN_GROUP"])
                assert row.self_assessed == surveys.self_assessment_done(cycle)
        ola = next(row for row in rows if row.cycle_id == open_id)
        # One consultant asked: the lead, like the trainee, is not told the senior part.
        assert (ola.responses.count, ola.responses.senior_told) == (answered, False)
        assert totals.trainees == 4 and totals.launched == 1 and totals.self_assessed == 2
        assert totals.asked == 10 and totals.answered == answered

    check(0)
    respond(app, open_id, *peers[:3])
    check(3)
    with pytest.raises(DomainError, match="Rate 10 more statements"):
        respond(app, open_id, peers[3], rated=0.25)  # too little rated: refused, not counted
    check(3)
    _, totals = progress_of(app, launch_id)
    assert totals.response_rate == pytest.approx(0.3)
    respond(app, open_id, *emails_of(ENOUGH)[:2], *peers[3:])
    check(10)
    _, totals = progress_of(app, launch_id)
    assert totals.rule_met == 0  # met, but with one consultant asked that is not told


def test_progress_page_orders_who_needs_a_nudge_first(app, lead, four_trainees):
    launch_id, _ = four_trainees
    rows = table_rows(lead.get(f"/cohorts/launches/{launch_id}"))
    assert [re.search(r"(Una|Sid|Nia|Ola) \w+", row).group(0) for row in rows] == \
        ["Una Untouched", "Sid Selfdone", "Nia Nominating", "Ola Open"]
    assert "remind them to rate themself and nominate" in rows[0]
    assert "3 of 10" in text_of(rows[2]) and "Not launched" in rows[2]
    assert "waiting for enough responses" in rows[3]
    by_name = table_rows(lead.get(f"/cohorts/launches/{launch_id}?sort=name"))
    assert [re.search(r"(Una|Sid|Nia|Ola) \w+", row).group(0) for row in by_name] == \
        ["Nia Nominating", "Ola Open", "Sid Selfdone", "Una Untouched"]
    totals = text_of(lead.get(f"/cohorts/launches/{launch_id}?sort=nonsense"))
    assert "Cycles opened to colleagues 1 of 4" in totals
    assert "Self-assessments done 2 of 4" in totals
    assert "Response rate 0%: 0 of the 10 colleagues asked have answered" in totals


def test_progress_page_never_shows_a_score(app, lead, four_trainees):
    launch_id, ids = four_trainees
    open_id = ids["Ola Open"]
    respond(app, open_id, *emails_of(ENOUGH))
    with app.app_context():
        # Scores a closed cycle would store, planted on every cycle of the launch.
        for cycle_id in ids.values():
            db.session.add_all([
                CycleScore(cycle_id=cycle_id, level="domain", key="personal-qualities",
                           self_score=2.71, others_mean=4.37, others_n=10),
                CycleScore(cycle_id=cycle_id, level="item", key="pq-sa-1",
                           self_score=1.86, others_mean=3.29, others_n=10)])
        cycle = db.session.get(FeedbackCycle, open_id)
        cycles.close_cycle(cycle, by=None)
        db.session.commit()
    page = lead.get(f"/cohorts/launches/{launch_id}")
    assert page.status_code == 200
    main = page.text[page.text.index("<main"):page.text.index("</main>")]
    for score in ("2.71", "2.7", "4.37", "4.4", "1.86", "1.9", "3.29", "3.3", "4.0"):
        assert score not in main
    assert not re.search(r"\d\.\d", text_of(main))
    assert "10 (at least 10 needed)" in text_of(main) and "Closed" in text_of(main)


def test_progress_page_query_count_does_not_grow_with_the_cohort(
        app, lead, admin, make_cohort, make_user):
    def launch_of(size: int) -> int:
        cohort = make_cohort(f"Cohort of {size}")
        for n in range(size):
            make_user(f"t{size}-{n}@nhs.net", cohort=cohort)
        launch_id = launch_by_service(app, cohort, admin)
        for n, cycle_id in enumerate(sorted(launch_cycles(app, launch_id).values())):
            if n % 3 == 1:
                self_assess(app, cycle_id)
            if n % 3 == 2:
                nominate(app, cycle_id, ENOUGH, launch=True)
                respond(app, cycle_id, *emails_of(ENOUGH)[:n % 5 + 1])
        return launch_id

    small, large = launch_of(3), launch_of(15)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def counted(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    def statements_for(launch_id: int) -> int:
        statements.clear()
        page = lead.get(f"/cohorts/launches/{launch_id}")
        assert page.status_code == 200
        return len(statements)

    lead.get(f"/cohorts/launches/{small}")  # the instrument snapshot is decoded once per process
    event.listen(engine, "before_cursor_execute", counted)
    try:
        few, many = statements_for(small), statements_for(large)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert len(table_rows(lead.get(f"/cohorts/launches/{large}"))) == 15
    # 14: the page's own 12, the lead's programmes read once a request (lead_scope), and when
    # the last reminder was sent (launch_reminders)
    assert few == many and many <= 14, statements


def test_launches_list_and_empty_states(app, lead, cohort, admin, make_user):
    empty = lead.get(f"/cohorts/{cohort.id}/launches")
    assert empty.status_code == 200
    assert "No 360 has been launched for this cohort yet" in text_of(empty)
    make_user(cohort=cohort)
    make_user(cohort=cohort)
    launch_id = launch_by_service(app, cohort, admin, title="Spring round")
    listed = lead.get(f"/cohorts/{cohort.id}/launches")
    [row] = table_rows(listed)
    assert f'href="/cohorts/launches/{launch_id}"' in row and "Spring round" in row
    assert "Helen Lead" in row and re.search(r">\s*2\s*</td>", row.split("Trainees")[-1])
    with app.app_context():
        hollow = CohortLaunch(cohort_id=cohort.id, title="Nobody left",
                              instrument_version_id=db.session.get(
                                  CohortLaunch, launch_id).instrument_version_id,
                              closes_on=cycles.today(), launched_by_id=admin.id,
                              launched_at=datetime.now(UTC))
        db.session.add(hollow)
        db.session.commit()
        hollow_id = hollow.id
    page = lead.get(f"/cohorts/launches/{hollow_id}")
    assert page.status_code == 200 and "No trainees in this launch" in text_of(page)


def test_service_refusals_name_the_cohort(app, make_cohort, admin):
    archived = make_cohort("Old intake", archived=True)
    with app.test_request_context("/"), pytest.raises(DomainError, match="Old intake is archived"):
        cohort_launches.launch_for_cohort(
                db.session.get(Cohort, archived.id), instrument_key="clcf", title="t",
                closes_on=cycles.today() + timedelta(days=10),
                launched_by=db.session.get(User, admin.id))


# --- Who may use any of it -----------------------------------------------------------------------

@pytest.mark.parametrize("role", [None, "trainee", "coach"])
@pytest.mark.parametrize("path", ["/cohorts/{cohort}/launch", "/cohorts/{cohort}/launches",
                                  "/cohorts/launches/{launch}"])
def test_only_programme_leads_reach_cohort_launches(app, client, login, make_user, cohort,
                                                    admin, role, path):
    make_user(cohort=cohort)
    url = path.format(cohort=cohort.id, launch=launch_by_service(app, cohort, admin))
    if role is None:
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.location
        return
    assert login(client, make_user(role=role)).status_code == 302
    assert client.get(url).status_code == 403
    if url.endswith("/launch"):
        token = csrf_token(client.get("/", follow_redirects=True))
        assert client.post(url, data={"csrf_token": token}).status_code == 403
