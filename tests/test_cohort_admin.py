"""Cohorts through the admin pages: list, create, edit, archive and restore, a cohort's trainees."""

from __future__ import annotations

import pytest
from helpers import csrf_token

from feedback360.extensions import db
from feedback360.models import AuditEvent, CoachAssignment, Cohort


@pytest.fixture
def admin_client(app, client, make_user, login):
    admin = make_user("lead@nhs.net", role="admin", name="Lena Lead")
    assert login(client, admin.email).status_code == 302
    return client


def submit(client, path: str, **data):
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={**data, "csrf_token": csrf_token(page)})


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_create_edit_archive_and_restore_a_cohort(app, admin_client, make_cohort):
    created = submit(admin_client, "/admin/cohorts/new", name="  STP 2026   Genomics ",
                     programme="Scientist Training Programme", intake_year="2026")
    assert created.status_code == 302
    with app.app_context():
        cohort = db.session.scalar(db.select(Cohort))
        assert (cohort.name, cohort.programme, cohort.intake_year, cohort.archived) == \
            ("STP 2026 Genomics", "Scientist Training Programme", 2026, False)
        cohort_id = cohort.id
    assert created.location.endswith(f"/admin/cohorts/{cohort_id}")
    detail = admin_client.get(created.location)
    assert "STP 2026 Genomics" in detail.text
    assert "No trainees are in this cohort yet" in detail.text

    edited = submit(admin_client, f"/admin/cohorts/{cohort_id}/edit", name="STP 2026 Genomics A",
                    programme="", intake_year="2027")
    assert edited.status_code == 302
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        assert (cohort.name, cohort.programme, cohort.intake_year) == \
            ("STP 2026 Genomics A", None, 2027)

    confirm = admin_client.get(f"/admin/cohorts/{cohort_id}/archive")
    assert "Archive this cohort?" in confirm.text
    with app.app_context():
        assert not db.session.get(Cohort, cohort_id).archived  # a GET only asks
    archived = admin_client.post(f"/admin/cohorts/{cohort_id}/archive",
                                 data={"csrf_token": csrf_token(confirm)})
    assert archived.status_code == 302
    listing = admin_client.get("/admin/cohorts")
    assert "There are no active cohorts" in listing.text
    assert listing.text.index("Archived cohorts") < listing.text.rindex("STP 2026 Genomics A")
    assert "STP 2026 Genomics A" not in admin_client.get("/admin/users/invite").text

    restore = admin_client.get(f"/admin/cohorts/{cohort_id}/unarchive")
    admin_client.post(f"/admin/cohorts/{cohort_id}/unarchive",
                      data={"csrf_token": csrf_token(restore)})
    assert "STP 2026 Genomics A" in admin_client.get("/admin/users/invite").text
    assert audit_actions(app)[-4:] == ["cohort.created", "cohort.updated", "cohort.archived",
                                       "cohort.unarchived"]


@pytest.mark.parametrize("path", ["/admin/cohorts/new", "/admin/cohorts/{other}/edit"])
@pytest.mark.parametrize("name", ["STP 2025 Audiology", "stp 2025 audiology ",
                                  "STP  2025 Audiology"])
def test_a_cohort_name_is_unique_whatever_its_case_and_spacing(app, admin_client, make_cohort,
                                                               path, name):
    make_cohort("STP 2025 Audiology")
    other = make_cohort("STP 2026 Audiology")
    response = submit(admin_client, path.format(other=other.id), name=name, intake_year="2025")
    assert response.status_code == 400
    assert "A cohort called STP 2025 Audiology already exists" in response.text
    assert 'href="#name"' in response.text  # the error summary points at the field
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Cohort)) == 2
        assert db.session.get(Cohort, other.id).name == "STP 2026 Audiology"


def test_keeping_a_cohorts_own_name_is_not_a_duplicate(admin_client, make_cohort):
    cohort = make_cohort("STP 2026 Audiology")
    response = submit(admin_client, f"/admin/cohorts/{cohort.id}/edit", name="STP 2026 Audiology",
                      programme="Renamed programme", intake_year="2026")
    assert response.status_code == 302


@pytest.mark.parametrize(("data", "message"), [
    ({"name": ""}, "Enter a name for the cohort"),
    ({"name": "A", "intake_year": "1999"}, "Intake year must be between 2000 and 2100"),
    ({"name": "A" * 121}, "Field cannot be longer than 120 characters"),
])
def test_bad_cohort_details_are_explained(admin_client, data, message):
    response = submit(admin_client, "/admin/cohorts/new", **data)
    assert response.status_code == 400
    assert message in response.text


def test_cohort_page_lists_its_trainees_with_coaches_and_account_state(app, admin_client,
                                                                        make_cohort, make_user):
    cohort = make_cohort("STP 2026 Medical Physics")
    other = make_cohort("STP 2026 Other")
    active = make_user("amara@nhs.net", name="Amara Okafor", cohort=cohort,
                       specialty="Medical Physics", training_year=2, site="Leeds")
    make_user("ben@nhs.net", name="Ben Hughes", cohort=cohort, password=None)
    make_user("elsewhere@nhs.net", name="Elsewhere Person", cohort=other)
    coach = make_user("coach@nhs.net", role="coach", name="Dr Priya Sharma")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=active.id))
        db.session.commit()
    page = admin_client.get(f"/admin/cohorts/{cohort.id}")
    assert page.status_code == 200
    text = page.text
    assert "2 trainees" in text and "Elsewhere Person" not in text
    amara = text[text.index("Amara Okafor"):text.index("Ben Hughes")]
    for expected in ("amara@nhs.net", "Medical Physics", "Training year </span>2</td>", "Leeds",
                     "Dr Priya Sharma", "Active"):
        assert expected in amara, expected
    ben = text[text.index("Ben Hughes"):]
    assert "Awaiting activation" in ben and "None" in ben
    listing = admin_client.get("/admin/cohorts").text
    row = listing[listing.index("STP 2026 Medical Physics"):listing.index("STP 2026 Other")]
    assert "Trainees </span>2</td>" in row


@pytest.mark.parametrize("cohort_archived", [False, True])
def test_archiving_twice_or_restoring_an_active_cohort_changes_nothing(app, admin_client,
                                                                       make_cohort,
                                                                       cohort_archived):
    cohort = make_cohort("STP 2024", archived=cohort_archived)
    action = "archive" if cohort_archived else "unarchive"
    response = admin_client.get(f"/admin/cohorts/{cohort.id}/{action}", follow_redirects=True)
    assert response.request.path == f"/admin/cohorts/{cohort.id}"
    assert ("already archived" if cohort_archived else "is not archived") in response.text
    with app.app_context():
        assert db.session.get(Cohort, cohort.id).archived is cohort_archived


def test_admin_navigation_offers_cohorts(admin_client):
    assert 'href="/admin/cohorts"' in admin_client.get("/admin/users").text


@pytest.mark.parametrize("role", ["trainee", "coach"])
@pytest.mark.parametrize(("method", "path"), [
    ("get", "/admin/cohorts"), ("get", "/admin/cohorts/new"), ("post", "/admin/cohorts/new"),
    ("get", "/admin/cohorts/{id}"), ("post", "/admin/cohorts/{id}/archive"),
    ("post", "/admin/cohorts/{id}/edit"),
])
def test_only_admins_manage_cohorts(app, client, make_user, make_cohort, login, role, method,
                                    path):
    cohort = make_cohort("STP 2026")
    login(client, make_user(role=role))
    token = csrf_token(client.get("/", follow_redirects=True))
    response = getattr(client, method)(path.format(id=cohort.id),
                                       data={"csrf_token": token, "name": "Taken over"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Cohort, cohort.id).name == "STP 2026"
        assert not db.session.get(Cohort, cohort.id).archived
