"""What needs attention (issue 12, point 8): the admin home counts and links each thing a
programme lead should act on, with an empty state; the coach's "My trainees" starts with what
needs their action; the users table names roles as people do ("Programme lead", "coaches").
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers import ENOUGH, text_of

from feedback360.extensions import db
from feedback360.models import CoachAssignment, FeedbackCycle, User
from feedback360.services import cohort_launches, cycles, nominee_approval


@pytest.fixture
def admin(make_user):
    return make_user("helen.lead@nhs.net", role="admin", name="Helen Lead")


@pytest.fixture
def lead(client, login, admin):
    assert login(client, admin).status_code == 302
    return client


def attention(page) -> dict[str, tuple[str, str]]:
    """Each item of the home's "Needs your attention": its text and where it links, by key."""
    card = re.search(r'<div class="nhsuk-card" id="attention">.*?</ul>', page.text, re.S)
    if card is None:
        return {}
    return {key: (text_of(item), href) for key, item, href in re.findall(
        r'data-key="([^"]+)">(.*?<a href="([^"]+)">.*?</a>)</li>', card.group(0), re.S)}


def test_nothing_needs_attention_says_so(lead):
    page = lead.get("/home/admin")
    assert attention(page) == {}
    assert "Nothing needs your attention" in text_of(page)


@pytest.fixture
def troubles(app, admin, make_user, make_cohort):
    """A launch whose one open cycle closes in 5 days with no answers; a nominee list waiting
    for Cora's approval; Una without a coach and never activated; Bob's coach deactivated."""
    cohort = make_cohort("STP 2026 Physics", nominee_approval_required=True)
    coach = make_user("cora@nhs.net", role="coach", name="Cora Coach")
    gone = make_user("gone@nhs.net", role="coach", name="Gone Coach", active=False)
    ola = make_user("ola@nhs.net", name="Ola Open", cohort=cohort)
    tara = make_user("tara@nhs.net", name="Tara Waiting", cohort=cohort)
    make_user("una@nhs.net", name="Una Uncoached", password=None)
    bob = make_user("bob@nhs.net", name="Bob Orphaned")
    with app.test_request_context("/"):
        db.session.add_all([CoachAssignment(coach_id=coach.id, trainee_id=ola.id),
                            CoachAssignment(coach_id=coach.id, trainee_id=tara.id),
                            CoachAssignment(coach_id=gone.id, trainee_id=bob.id)])
        db.session.commit()
        launch = cohort_launches.launch_for_cohort(
            db.session.get(type(cohort), cohort.id), instrument_key="clcf", title="Spring 360",
            closes_on=cycles.today() + timedelta(days=5),
            launched_by=db.session.get(User, admin.id))
        by_trainee = {c.trainee_id: c for c in db.session.scalars(db.select(FeedbackCycle))}
        for trainee_id in (ola.id, tara.id):
            cycles.nominate_many(by_trainee[trainee_id], "\n".join(ENOUGH))
        open_cycle = by_trainee[ola.id]
        nominee_approval.request_approval(open_cycle)
        nominee_approval.approve(open_cycle, db.session.get(User, coach.id))
        cycles.launch(open_cycle)
        nominee_approval.request_approval(by_trainee[tara.id])
        db.session.commit()
        return launch.id


def test_each_thing_needing_attention_has_a_count_and_a_link(lead, troubles):
    items = attention(lead.get("/home/admin"))
    assert items == {
        "closing-soon": ("1 cycle closes within 7 days without enough responses: "
                         "Spring 360 (STP 2026 Physics)", f"/cohorts/launches/{troubles}"),
        "nominees-waiting": ("1 list of nominated colleagues is waiting for a coach's approval: "
                             "Spring 360 (STP 2026 Physics)", f"/cohorts/launches/{troubles}"),
        "no-coach": ("2 trainees have no coach, so nobody could release their reports: See the "
                     "trainees without a coach", "/admin/users?needs=coach"),
        "not-activated": ("1 account has never been activated: See the accounts not activated",
                          "/admin/users?needs=activation"),
    }


@pytest.mark.parametrize(("needs", "heading", "names"), [
    ("coach", "Trainees without a coach", ["Bob Orphaned", "Una Uncoached"]),
    ("activation", "Accounts not activated", ["Una Uncoached"]),
    ("nonsense", "Users", ["Helen Lead", "Cora Coach", "Gone Coach", "Bob Orphaned", "Ola Open",
                           "Tara Waiting", "Una Uncoached"]),
])
def test_the_links_list_exactly_those_people(lead, troubles, needs, heading, names):
    page = lead.get(f"/admin/users?needs={needs}")
    assert page.status_code == 200
    assert f"<h1>{heading}</h1>" in page.text
    assert re.findall(r'<a href="/admin/users/\d+">([^<]+)</a>', page.text) == names


def test_the_users_table_names_roles_as_people_do(lead, troubles):
    page = lead.get("/admin/users")
    text = text_of(page)
    assert "Show: everyone · trainees · coaches · programme leads" in text
    assert "coachs" not in text and "admins" not in text
    roles = re.findall(r'aria-hidden="true">Role </span><span class="app-cell-value">'
                       r'<span class="app-cell-line">([^<]+)</span>', page.text)
    assert set(roles) == {"Coach", "Programme lead", "Trainee"}
    assert "Programme lead" in text_of(lead.get("/admin/users/invite"))


def cycle_of(app, name: str) -> FeedbackCycle:
    """The named trainee's only cycle (in the caller's app context)."""
    return db.session.scalar(db.select(FeedbackCycle).join(
        User, User.id == FeedbackCycle.trainee_id).where(User.name == name))


def test_the_coach_sees_what_needs_their_action_first(app, troubles, login, make_user):
    client = app.test_client()
    assert login(client, "cora@nhs.net").status_code == 302
    page = client.get("/coach/trainees")
    card = re.search(r'id="needs-action".*?</div>\s*</div>', page.text, re.S).group(0)
    with app.app_context():
        waiting = cycle_of(app, "Tara Waiting").id
    assert f'href="/coach/cycles/{waiting}/nominees"' in card
    assert "Approve the colleagues Tara Waiting nominated : Spring 360" in text_of(card)
    assert "Review and release" not in card  # nothing has closed yet
    with app.app_context():
        closing = cycle_of(app, "Ola Open")
        cycles.close_cycle(closing, by=None)
        db.session.commit()
        closed = closing.id
    card = re.search(r'id="needs-action".*?</div>\s*</div>',
                     client.get("/coach/trainees").text, re.S).group(0)
    assert f'href="/cycles/{closed}/report"' in card
    assert "Review and release the report of Ola Open : Spring 360" in text_of(card)

    lonely = make_user("lone@nhs.net", role="coach")
    other = app.test_client()
    assert login(other, lonely).status_code == 302
    assert "Needs your action" not in text_of(other.get("/coach/trainees"))  # no trainees yet
