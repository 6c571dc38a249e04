"""The development dashboard, GET /cycles/<id>/report (issue 4, point 4), through the HTTP client.

Cycles are built through the services (create, nominate, launch), answered by inserting rows as
the survey stores them, closed by ``close_cycle`` and released by setting the release fields.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers import add_sealed_response

from feedback360.extensions import db
from feedback360.models import Answer, CoachAssignment, Comment, FeedbackCycle, Response, User
from feedback360.services import cycles as cycle_service
from feedback360.services.instrument_cache import instrument_for
from feedback360.views.assets import plotly_bundle
from feedback360.views.reports import dashboard_context

SCORE = re.compile(r"\b\d\.\d")  # any decimal: scores are printed to two places
# The supervisor (identifiable), three seniors, four peers and two nurses (under k = 3).
RATERS = ["supervisor", "senior", "senior", "senior", "peer", "peer", "peer", "peer",
          "nursing", "nursing"]
SCRIPT = "<script>alert('x')</script> & <b>bold</b>"


def text_of(response_or_html) -> str:
    markup = getattr(response_or_html, "text", response_or_html)
    markup = re.sub(r"<script\b.*?</script>", " ", markup, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def build_cycle(app, trainee_id: int, *, raters: list[str] | None = None, close: bool = True,
                released_by: int | None = None, closes_in: int = 14,
                comments: dict[int, tuple[str, str]] | None = None,
                hidden: dict[int, str] | None = None, instrument_key: str = "clcf") -> int:
    """A cycle made through the services and answered by ``raters``; ``comments`` maps a rater's
    index to (prompt key, text), ``hidden`` a rater's index to the reason their comment is
    hidden. Closed unless ``close`` is False; released by ``released_by`` if given; answering
    the questionnaire ``instrument_key``."""
    raters = RATERS if raters is None else raters
    with app.app_context():
        trainee = db.session.get(User, trainee_id)
        cycle = cycle_service.create_cycle(
            trainee, instrument_key=instrument_key, title=f"Feedback closing in {closes_in} days",
            closes_on=cycle_service.today() + timedelta(days=closes_in))
        nominees = ["supervisor", "senior", "senior", *["peer"] * 8]
        for n, group in enumerate(nominees):
            cycle_service.nominate(cycle, name=f"Colleague {n}", group=group,
                                   email=f"colleague{n}.{cycle.id}@nhs.net")
        cycle_service.launch(cycle)
        instrument = instrument_for(cycle)
        me = Response(cycle_id=cycle.id, is_self=True)
        me.answers = [Answer(item_key=key, score=5) for key in instrument.item_keys]
        db.session.add(me)
        for n, group in enumerate(raters):
            scores = {key: 2 + (n + i) % 3 for i, key in enumerate(instrument.item_keys)}
            if not close:  # while the cycle is open the survey keeps answers sealed
                add_sealed_response(cycle.id, group, scores)
                continue
            response = Response(cycle_id=cycle.id, rater_group=group, is_self=False)
            response.answers = [Answer(item_key=key, score=score) for key, score in scores.items()]
            if comments and n in comments:
                prompt, text = comments[n]
                comment = Comment(prompt_key=prompt, text=text)
                if hidden and n in hidden:
                    comment.hidden_at, comment.hidden_reason = datetime.now(UTC), hidden[n]
                response.comments = [comment]
            db.session.add(response)
        db.session.flush()
        if close:
            cycle_service.close_cycle(cycle, by=None)
        if released_by is not None:
            cycle.status, cycle.released_at = "released", datetime.now(UTC)
            cycle.released_by_id = released_by
        db.session.commit()
        return cycle.id


@pytest.fixture
def trainee(make_user):
    return make_user("tara.trainee@nhs.net", name="Tara Trainee", specialty="Medical Physics",
                     training_year=2)


@pytest.fixture
def coach(app, make_user, trainee):
    coach = make_user("colin.coach@nhs.net", role="coach", name="Colin Coach")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        db.session.commit()
    return coach


def client_for(app, login, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


@pytest.fixture
def as_trainee(app, login, trainee):
    return client_for(app, login, trainee)


@pytest.fixture
def as_coach(app, login, coach):
    return client_for(app, login, coach)


COMMENTS = {4: ("strengths", "Calm and clear at every handover"),
            5: ("development", SCRIPT),
            8: ("strengths", "A nurse says: always thanks the night team"),
            9: ("development", "Named Sister Jones on ward 7")}


@pytest.fixture
def closed_id(app, trainee):
    return build_cycle(app, trainee.id, comments=COMMENTS, hidden={9: "Names a colleague"})


@pytest.fixture
def released_id(app, trainee, coach):
    return build_cycle(app, trainee.id, comments=COMMENTS, hidden={9: "Names a colleague"},
                       released_by=coach.id)


# --- who sees what -------------------------------------------------------------------------

def test_the_trainee_sees_awaiting_review_and_no_score_while_closed(as_trainee, closed_id):
    page = as_trainee.get(f"/cycles/{closed_id}/report")
    assert page.status_code == 200
    text = text_of(page)
    assert "Your report is awaiting review with your coach" in text
    assert not SCORE.search(text), SCORE.search(text)
    assert "Calm and clear" not in text and "app-chart-data" not in page.text
    assert "plotly" not in page.text


def test_the_trainee_sees_the_report_once_released(as_trainee, released_id):
    page = as_trainee.get(f"/cycles/{released_id}/report")
    assert page.status_code == 200
    text = text_of(page)
    assert "Your feedback report" in text and "Summary" in text
    assert ("Summary 10 responses. Important: Read with caution 10 colleagues responded (10 "
            "needed). The rule also asks for 2 senior colleagues: whether that part is met is "
            "not shown") in text
    assert SCORE.search(text)
    assert "Blind spots" in text and "Hidden strengths" in text
    assert "Private notes" not in text


def test_the_assigned_coach_sees_a_closed_report(as_coach, closed_id):
    page = as_coach.get(f"/cycles/{closed_id}/report")
    assert page.status_code == 200
    text = text_of(page)
    assert "Feedback report for Tara Trainee" in text and "Not yet released" in text
    assert "Calm and clear at every handover" in text


@pytest.mark.parametrize("status", ["draft", "open"])
def test_draft_and_open_cycles_have_no_report(app, trainee, coach, as_trainee, as_coach, status):
    cycle_id = build_cycle(app, trainee.id, close=False)
    if status == "draft":
        with app.app_context():
            cycle = db.session.get(FeedbackCycle, cycle_id)
            cycle.status, cycle.opened_at, cycle.opens_on = "draft", None, None
            db.session.commit()
    assert as_trainee.get(f"/cycles/{cycle_id}/report").status_code == 404
    assert as_coach.get(f"/cycles/{cycle_id}/report").status_code == 404


def test_no_one_else_reaches_a_report(app, login, make_user, client, released_id):
    url = f"/cycles/{released_id}/report"
    other_trainee = make_user("other.trainee@nhs.net")
    other_coach = make_user("other.coach@nhs.net", role="coach")
    admin = make_user("lead@nhs.net", role="admin")
    assert client_for(app, login, other_trainee).get(url).status_code == 404
    assert client_for(app, login, other_coach).get(url).status_code == 404
    assert client_for(app, login, admin).get(url).status_code == 403
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.location
    assert client_for(app, login, other_trainee).get("/cycles/999999/report").status_code == 404


# --- the page -----------------------------------------------------------------------------

def chart_sections(page) -> dict[str, str]:
    return dict(re.findall(r'<section class="app-chart" id="([\w-]+)".*?>(.*?)</section>',
                           page.text, re.S))


def test_every_chart_has_a_table_and_is_drawn_from_json(as_coach, released_id):
    page = as_coach.get(f"/cycles/{released_id}/report")
    sections = chart_sections(page)
    assert set(sections) >= {"domain-radar", "domain-bars", "element-heatmap",
                             "item-distributions", "elements"}
    for chart_id, section in sections.items():
        assert section.count("<table") == 1, chart_id
        assert 'scope="col"' in section and 'scope="row"' in section
        assert "nhsuk-table__cell--numeric" in section
        if chart_id == "elements":
            continue
        # hidden until drawn: without JavaScript only the table is there
        assert re.search(rf'<div class="app-chart__figure" id="{chart_id}-figure"[^>]*hidden',
                         section), chart_id
        data = re.search(r'<script type="application/json" class="app-chart-data" '
                         rf'data-target="{chart_id}-figure">(.*?)</script>', section, re.S)
        figure = json.loads(data.group(1))
        assert set(figure) == {"data", "layout", "config"} and figure["data"]
    # the partial bundle under its versioned URL, deferred; charts.js (a module) runs after it
    version = plotly_bundle().version
    plotly = re.search(rf'<script src="/assets/plotly.min.js\?v={version}" defer '
                       r'nonce="([^"]+)"></script>', page.text)
    nonce = plotly.group(1)
    charts_js = f'<script type="module" src="/static/charts.js" nonce="{nonce}">'
    assert page.text.index(charts_js) > plotly.end()
    assert f"'nonce-{nonce}'" in page.headers["Content-Security-Policy"]
    assert re.search(r'<link rel="stylesheet" href="/static/print.css" media="print">',
                     page.text)


def test_every_section_is_in_the_contents_with_a_way_back_and_long_tables_fold(as_trainee,
                                                                              released_id):
    response = as_trainee.get(f"/cycles/{released_id}/report")
    page = response.text
    contents = re.search(r'<nav class="app-report__contents.*?</nav>', page, re.S).group(0)
    sections = re.findall(r'<section id="([\w-]+)"', page)
    assert "development-plan" in sections
    assert re.findall(r'href="#([\w-]+)"', contents) == sections
    assert page.count('<a href="#top">Back to top</a>') == len(sections)
    assert 'id="top"' in page
    # each chart's table, and the element table, are folded in a details component that says
    # what is inside; the statements' chart is folded with its table
    for chart_id, section in chart_sections(response).items():
        summary = re.search(r'<details class="nhsuk-details app-fold">\s*<summary.*?>(.*?)'
                            r'</summary>(.*?)</details>', section, re.S)
        assert summary and "<table" in summary.group(2), chart_id
        assert re.search(r"Show the (chart and its )?table.*\(\d+ (domain|element|statement)s",
                         text_of(summary.group(1))), chart_id
        assert ("app-chart-data" in summary.group(2)) == (chart_id == "item-distributions")


def test_comments_are_escaped_and_hidden_ones_never_reach_the_trainee(as_trainee, as_coach,
                                                                     released_id):
    url = f"/cycles/{released_id}/report"
    for client in (as_trainee, as_coach):
        page = client.get(url)
        assert "<script>alert" not in page.text and "<b>bold</b>" not in page.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" \
            in page.text
        assert SCRIPT in text_of(page)
    trainee_page = as_trainee.get(url)
    assert "Sister Jones" not in trainee_page.text and "Names a colleague" not in trainee_page.text
    assert "Hidden from the trainee" not in trainee_page.text
    coach_text = text_of(as_coach.get(url))
    assert "Named Sister Jones on ward 7" in coach_text
    assert "Hidden from the trainee" in coach_text and "Reason: Names a colleague" in coach_text


def comment_blocks(page) -> dict[str, str]:
    """Each comment's text -> the text of its whole list item (label included)."""
    items = re.findall(r'<li class="app-comment[^"]*">(.*?)</li>', page.text, re.S)
    blocks = {}
    for item in items:
        quote = re.search(r"<blockquote[^>]*>(.*?)</blockquote>", item, re.S).group(1)
        blocks[html.unescape(quote.strip())] = text_of(item)
    return blocks


def test_a_comment_is_labelled_as_its_raters_scores_are_shown(as_coach, closed_id):
    blocks = comment_blocks(as_coach.get(f"/cycles/{closed_id}/report"))
    assert "From: Fellow trainee" in blocks["Calm and clear at every handover"]
    # Two nurses (under k) are pooled with the three seniors in the scores: so are their words.
    nurse = blocks["A nurse says: always thanks the night team"]
    assert "From: Other colleagues" in nurse and "Nurse" not in nurse.replace("A nurse says", "")


def test_not_enough_responses_shows_no_scores_and_no_comments(app, trainee, as_coach):
    few = build_cycle(app, trainee.id, raters=["peer", "peer", "senior"],
                      comments={0: ("strengths", "Always on time")})
    page = as_coach.get(f"/cycles/{few}/report")
    assert page.status_code == 200
    text = text_of(page.text.split('id="development-plan"')[0])  # the plan is not this page's
    assert "Not enough responses to show colleagues' scores" in text
    assert "3 colleagues answered and at least 5 are needed" in text
    assert not SCORE.search(text), SCORE.search(text)
    assert "app-chart-data" not in page.text and "plotly" not in page.text
    assert "Always on time" not in text


def test_the_summary_counts_groups_and_the_notes_explain_pooling(app, trainee, as_coach,
                                                                 closed_id):
    text = text_of(as_coach.get(f"/cycles/{closed_id}/report"))
    # two nurses are under k; alone they would be All raters minus the rest, so the seniors
    # join them as "Other colleagues"
    assert ("Responses by group Group Responses Educational or clinical supervisor / training "
            "officer (not anonymous) 1 Fellow trainee 4 Other colleagues 5 All raters 10") in text
    assert ('Groups with fewer than 3 responses are shown together as "Other colleagues", with a '
            "larger group where that is needed") in text
    assert "A blind spot is a statement on which the trainee rated themself" in text
    # three supervisors and two peers: nothing can be shown apart, so all five are counted
    # only within All raters
    lone = build_cycle(app, trainee.id, raters=["supervisor"] * 3 + ["peer"] * 2)
    text = text_of(as_coach.get(f"/cycles/{lone}/report"))
    assert ('Responses by group Group Responses Shown only within "All raters" 5 '
            "All raters 5") in text


@pytest.mark.parametrize(("raters", "told"), [
    # The seniors (3) are pooled with the two nurses: "4 of them senior" less the supervisor
    # would say the pool's other two were nurses, and "from 4 groups" that nurses answered.
    (RATERS, False),
    # One consultant among peers: "2 of them senior" would say the consultant answered.
    (["supervisor", "senior", *["peer"] * 8], False),
    # Three consultants shown as their own group: the senior count adds nothing.
    (["supervisor", *["senior"] * 3, *["peer"] * 6], True),
])
def test_the_report_never_says_whether_a_small_group_answered(app, trainee, coach, as_trainee,
                                                              raters, told):
    released = build_cycle(app, trainee.id, raters=raters, released_by=coach.id)
    text = text_of(as_trainee.get(f"/cycles/{released}/report"))
    assert not re.search(r"responses? from \d+ groups?", text)
    for group in ("Nurse or midwife", "Consultant or senior scientist are shown"):
        assert group not in text
    senior = sum(g in ("supervisor", "senior") for g in raters)
    assert (f"{senior} of them senior" in text) is told
    assert ("whether that part is met is not shown" in text) is not told
    assert ("That meets the questionnaire's rule" in text) is told


def test_change_since_the_previous_cycle_trainee_released_only_coach_closed_too(
        app, trainee, coach, as_trainee, as_coach):
    build_cycle(app, trainee.id, closes_in=7)  # closed, never released
    current = build_cycle(app, trainee.id, closes_in=21, released_by=coach.id)
    url = f"/cycles/{current}/report"
    assert "change" in chart_sections(as_coach.get(url))
    assert "Compared with “Feedback closing in 7 days”" in text_of(as_coach.get(url))
    trainee_page = as_trainee.get(url)
    assert "change" not in chart_sections(trainee_page)
    assert "There is no earlier released report to compare with" in text_of(trainee_page)


def test_the_trainee_compares_with_a_released_previous_cycle(app, trainee, coach, as_trainee):
    build_cycle(app, trainee.id, closes_in=7, released_by=coach.id)
    current = build_cycle(app, trainee.id, closes_in=21, released_by=coach.id)
    page = as_trainee.get(f"/cycles/{current}/report")
    section = chart_sections(page)["change"]
    assert "Self: previous" in section and "All raters: this cycle" in section


def test_dashboard_context_gives_the_agreed_names(app, trainee, closed_id):
    with app.test_request_context():
        cycle = db.session.get(FeedbackCycle, closed_id)
        coach_view = dashboard_context(cycle, "coach")
        trainee_view = dashboard_context(cycle, "trainee")
        assert {"cycle", "trainee", "instrument", "report", "comments", "change",
                "previous_cycle", "viewer", "charts"} <= set(coach_view)
        assert coach_view["viewer"] == "coach" and coach_view["trainee"].id == trainee.id
        assert any(c.hidden for c in coach_view["comments"])
        assert not any(c.hidden for c in trainee_view["comments"])
        assert coach_view["change"] is None and coach_view["previous_cycle"] is None
        with pytest.raises(ValueError, match="viewer"):
            dashboard_context(cycle, "admin")
