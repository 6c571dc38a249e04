"""Coach assignment through the admin pages: one trainee at a time, or many of a cohort at once."""

from __future__ import annotations

import re

import pytest
from helpers import csrf_token, form_fields

from feedback360.extensions import db
from feedback360.models import AuditEvent, CoachAssignment, User
from feedback360.services import DomainError, coaching


@pytest.fixture
def people(make_user, make_cohort):
    cohort = make_cohort("STP 2026 Genomics")
    trainees = [make_user(f"t{n}@nhs.net", name=f"Trainee {n}", cohort=cohort) for n in range(4)]
    return {"cohort": cohort, "trainees": trainees,
            "coach": make_user("sharma@nhs.net", role="coach", name="Dr Priya Sharma"),
            "other_coach": make_user("fletcher@nhs.net", role="coach", name="Dr Tom Fletcher"),
            "admin": make_user("lead@nhs.net", role="admin", name="Lena Lead")}


@pytest.fixture
def admin_client(client, people, login):
    assert login(client, people["admin"].email).status_code == 302
    return client


def pairs(app) -> set[tuple[int, int]]:
    with app.app_context():
        return {tuple(row) for row in db.session.execute(
            db.select(CoachAssignment.coach_id, CoachAssignment.trainee_id))}


def test_assign_a_coach_to_one_trainee_and_remove_them(app, admin_client, people, client, login):
    trainee, coach = people["trainees"][0], people["coach"]
    path = f"/admin/trainees/{trainee.id}/coaches"
    page = admin_client.get(path)
    assert "Trainee 0 has no coach yet" in page.text
    fields = {**form_fields(page, action="", index=1), "coach_id": str(coach.id)}
    assigned = admin_client.post(path, data=fields, follow_redirects=True)
    assert "Dr Priya Sharma is now Trainee 0&#39;s coach" in assigned.text
    assert pairs(app) == {(coach.id, trainee.id)}

    again = admin_client.post(path, data={**fields, "csrf_token": csrf_token(assigned)})
    assert again.status_code == 400
    assert "Dr Priya Sharma is already Trainee 0&#39;s coach" in again.text
    assert pairs(app) == {(coach.id, trainee.id)}

    coach_view = app.test_client()
    login(coach_view, coach.email)
    assert "Trainee 0" in coach_view.get("/coach/trainees").text

    with app.app_context():
        assignment_id = db.session.scalar(db.select(CoachAssignment.id))
    action = f"/admin/coach-assignments/{assignment_id}/remove"
    assert f'action="{action}"' in assigned.text
    removed = admin_client.post(action, data=form_fields(assigned, action=action),
                                follow_redirects=True)
    assert "Dr Priya Sharma is no longer Trainee 0&#39;s coach" in removed.text
    assert pairs(app) == set()
    assert "Trainee 0" not in coach_view.get("/coach/trainees").text
    with app.app_context():
        actions = list(db.session.scalars(db.select(AuditEvent.action).where(
            AuditEvent.action.like("coach.%")).order_by(AuditEvent.id)))
    assert actions == ["coach.assigned", "coach.unassigned"]


def test_only_coaches_are_offered_and_accepted(app, admin_client, people):
    trainee, not_a_coach = people["trainees"][0], people["trainees"][1]
    path = f"/admin/trainees/{trainee.id}/coaches"
    page = admin_client.get(path)
    assert "Dr Tom Fletcher" in page.text and "Trainee 1" not in page.text
    response = admin_client.post(path, data={"csrf_token": csrf_token(page),
                                              "coach_id": str(not_a_coach.id)})
    assert response.status_code == 400 and "Not a valid choice" in response.text
    missing = admin_client.post(path, data={"csrf_token": csrf_token(page), "coach_id": "0"})
    assert missing.status_code == 400 and "Select a coach" in missing.text
    assert pairs(app) == set()


def test_only_trainees_have_a_coaches_page(admin_client, people):
    assert admin_client.get(f"/admin/trainees/{people['coach'].id}/coaches").status_code == 404


@pytest.mark.parametrize(("coach_key", "trainee_key", "message"), [
    ("trainee", "trainee", "is not a coach"),
    ("coach", "coach", "is not a trainee"),
])
def test_the_service_refuses_pairs_of_the_wrong_roles(app, people, coach_key, trainee_key,
                                                      message):
    chosen = {"trainee": people["trainees"][0], "coach": people["coach"]}
    with app.app_context():
        coach = db.session.get(User, chosen[coach_key].id)
        trainee = db.session.get(User, (people["other_coach"] if trainee_key == "coach"
                                        else people["trainees"][1]).id)
        with pytest.raises(DomainError, match=message):
            coaching.assign(coach, trainee, by=None)


def test_bulk_assignment_skips_and_reports_those_already_assigned(app, admin_client, people):
    coach, trainees = people["coach"], people["trainees"]
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainees[1].id))
        db.session.commit()
    path = f"/admin/cohorts/{people['cohort'].id}"
    page = admin_client.get(path)
    fields = form_fields(page, action="/coaches")
    response = admin_client.post(f"{path}/coaches", data={
        **fields, "coach_id": str(coach.id),
        "trainee_ids": [str(trainees[0].id), str(trainees[1].id), str(trainees[2].id)]},
        follow_redirects=True)
    assert response.request.path == path
    assert "Dr Priya Sharma is now the coach of Trainee 0, Trainee 2" in response.text
    assert "Skipped, already coached by Dr Priya Sharma: Trainee 1" in response.text
    assert pairs(app) == {(coach.id, trainees[n].id) for n in (0, 1, 2)}
    # Trainee 3 (not selected) still has no coach: the text of their row, markup aside.
    row = re.sub(r"<[^>]+>", " ", response.text[response.text.index("t3@nhs.net"):])
    assert "Coaches None Change" in " ".join(row.split())[:300]
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).where(
            AuditEvent.action == "coach.assigned_many"))
        assert event.detail == {"assigned": 2, "skipped": 1}


@pytest.mark.parametrize(("choose", "message"), [
    ({"coach_id": "coach"}, "Select at least one trainee"),
    ({"trainee_ids": ["t0"]}, "Select a coach"),
    ({"coach_id": "coach", "trainee_ids": ["t0", "outsider"]},
     "Select only trainees of STP 2026 Genomics"),
])
def test_bulk_assignment_needs_a_coach_and_trainees_of_the_cohort(app, admin_client, people,
                                                                  make_user, choose, message):
    outsider = make_user("outsider@nhs.net", name="Outsider")
    ids = {"coach": people["coach"].id, "t0": people["trainees"][0].id, "outsider": outsider.id}
    data = {key: ([str(ids[v]) for v in value] if isinstance(value, list) else str(ids[value]))
            for key, value in choose.items()}
    path = f"/admin/cohorts/{people['cohort'].id}"
    page = admin_client.get(path)
    response = admin_client.post(f"{path}/coaches",
                                 data={"csrf_token": csrf_token(page), **data})
    assert response.status_code == 400
    assert "There is a problem" in response.text and message in response.text
    assert pairs(app) == set()


@pytest.mark.parametrize("role", ["trainee", "coach"])
def test_only_admins_assign_coaches(app, client, people, login, role):
    login(client, people["trainees"][0] if role == "trainee" else people["coach"])
    token = csrf_token(client.get("/", follow_redirects=True))
    trainee = people["trainees"][1]
    responses = [
        client.post(f"/admin/trainees/{trainee.id}/coaches",
                    data={"csrf_token": token, "coach_id": str(people["coach"].id)}),
        client.post(f"/admin/cohorts/{people['cohort'].id}/coaches",
                    data={"csrf_token": token, "coach_id": str(people["coach"].id),
                          "trainee_ids": [str(trainee.id)]}),
    ]
    assert [r.status_code for r in responses] == [403, 403]
    assert pairs(app) == set()
