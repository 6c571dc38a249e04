"""A programme lead's page for one person: details and role (audited), deactivation, signing
out everywhere and resending the activation email, through the pages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from helpers import form_fields, post, text_of

from feedback360.extensions import db
from feedback360.models import AuditEvent, CoachAssignment, User
from feedback360.services import DomainError, account_admin


@pytest.fixture
def people(make_user, make_cohort):
    cohort = make_cohort("STP 2026 Genomics")
    return {
        "admin": make_user("lead@nhs.net", role="admin", name="Lena Lead"),
        "trainee": make_user("amara@nhs.net", name="Amara Okafor", cohort=cohort,
                             specialty="Genomics", training_year=1, site="Leeds"),
        "other": make_user("ben@nhs.net", name="Ben Hughes"),
        "cohort": cohort,
    }


@pytest.fixture
def admin_client(app, people, login):
    client = app.test_client()
    assert login(client, people["admin"]).status_code == 302
    return client


def signed_in(app, login, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    assert client.get("/").status_code in (200, 302)
    return client


def is_signed_out(client) -> bool:
    response = client.get("/cycles/")
    return response.status_code == 302 and "/auth/login" in response.location


def edit(client, user_id: int, **changes: str):
    path = f"/admin/users/{user_id}/edit"
    return client.post(path, data={**form_fields(client.get(path)), **changes})


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)))


def test_the_users_list_links_to_each_persons_page(admin_client, people):
    trainee = people["trainee"]
    assert f'href="/admin/users/{trainee.id}"' in admin_client.get("/admin/users").text
    page = text_of(admin_client.get(f"/admin/users/{trainee.id}"))
    assert "Amara Okafor" in page and "amara@nhs.net" in page and "STP 2026 Genomics" in page


def test_an_edit_is_saved_case_folded_and_audited_with_before_and_after(app, admin_client,
                                                                       people):
    trainee = people["trainee"]
    response = edit(admin_client, trainee.id, name="  Amara   Okafor-Smith ",
                    email="Amara.Smith@NHS.net", training_year="2", site="Leeds General")
    assert response.status_code == 302, response.text
    with app.app_context():
        user = db.session.get(User, trainee.id)
        assert (user.name, user.email, user.training_year, user.site) == \
            ("Amara Okafor-Smith", "amara.smith@nhs.net", 2, "Leeds General")
        [event] = events("user.updated")
        assert event.actor_id == people["admin"].id and event.target == f"user:{trainee.id}"
        assert event.detail == {"changes": {
            "name": ["Amara Okafor", "Amara Okafor-Smith"],
            "email": ["amara@nhs.net", "amara.smith@nhs.net"],
            "training_year": [1, 2], "site": ["Leeds", "Leeds General"]}}
    # nothing changed: nothing audited
    assert edit(admin_client, trainee.id).status_code == 302
    with app.app_context():
        assert len(events("user.updated")) == 1


@pytest.mark.parametrize(("changes", "message"), [
    ({"email": "BEN@nhs.net"}, "Another account already uses this email address"),
    ({"email": "not-an-email"}, "Enter an email address in the correct format"),
    ({"training_year": "11"}, "Training year must be between 1 and 10"),
    ({"training_year": "0"}, "Training year must be between 1 and 10"),
    ({"training_year": "two"}, "Training year must be a whole number between 1 and 10"),
    ({"training_year": "9" * 40}, "Training year must be between 1 and 10"),
    ({"name": "   "}, "Enter the person's full name"),
    ({"name": "x" * 121}, "Field cannot be longer than 120 characters"),
    ({"role": "coach"}, "Only trainees belong to a cohort"),
    ({"role": "superuser"}, "Not a valid choice"),
    ({"cohort_id": "999999"}, "Not a valid choice"),
])
def test_bad_edits_get_a_clear_error_and_change_nothing(app, admin_client, people, changes,
                                                        message):
    trainee = people["trainee"]
    response = edit(admin_client, trainee.id, **changes)
    assert response.status_code == 400
    assert message in text_of(response)
    assert "Error:" in response.text  # the page title says so
    with app.app_context():
        user = db.session.get(User, trainee.id)
        assert (user.email, user.role, user.training_year) == ("amara@nhs.net", "trainee", 1)
        assert events("user.updated") == []


def test_a_role_change_moves_a_trainee_out_of_their_cohort(app, admin_client, people):
    trainee = people["trainee"]
    assert edit(admin_client, trainee.id, role="coach", cohort_id="0").status_code == 302
    with app.app_context():
        user = db.session.get(User, trainee.id)
        assert (user.role, user.cohort_id) == ("coach", None)
        [event] = events("user.updated")
        assert event.detail["changes"]["role"] == ["trainee", "coach"]


@pytest.mark.parametrize("who", ["coach", "trainee"])
def test_a_role_change_ends_coaching_in_the_old_role(app, admin_client, people, make_user,
                                                     who):
    coach = make_user("cora@nhs.net", role="coach")
    kept = make_user("kim@nhs.net", role="coach")
    with app.app_context():
        db.session.add_all([CoachAssignment(coach_id=coach.id, trainee_id=people["trainee"].id),
                            CoachAssignment(coach_id=kept.id, trainee_id=people["other"].id)])
        db.session.commit()
    person = coach if who == "coach" else people["trainee"]
    assert edit(admin_client, person.id, role="admin", cohort_id="0").status_code == 302
    with app.app_context():
        left = db.session.scalars(db.select(CoachAssignment)).all()
        assert [(a.coach_id, a.trainee_id) for a in left] == [(kept.id, people["other"].id)]
        [event] = events("coach.unassigned")
        assert event.target == f"user:{people['trainee'].id}"


def test_deactivation_asks_first_ends_sessions_and_stops_sign_in(app, admin_client, people,
                                                                 login):
    trainee = people["trainee"]
    theirs = signed_in(app, login, trainee)
    path = f"/admin/users/{trainee.id}/deactivate"
    assert "Deactivate this account?" in admin_client.get(path).text
    assert not is_signed_out(theirs)  # only asking changes nothing
    assert post(admin_client, path).status_code == 302
    assert is_signed_out(theirs)
    assert login(app.test_client(), trainee).status_code == 400
    assert "Deactivated" in admin_client.get(f"/admin/users/{trainee.id}").text
    assert post(admin_client, f"/admin/users/{trainee.id}",
                f"/admin/users/{trainee.id}/reactivate").status_code == 302
    assert login(app.test_client(), trainee).status_code == 302
    with app.app_context():
        assert [e.target for e in events("user.deactivated") + events("user.reactivated")] == \
            [f"user:{trainee.id}"] * 2


def test_sign_out_everywhere_ends_every_session_of_that_person_only(app, admin_client,
                                                                    people, login):
    trainee = people["trainee"]
    phone, ward_pc = signed_in(app, login, trainee), signed_in(app, login, trainee)
    bystander = signed_in(app, login, people["other"])
    response = post(admin_client, f"/admin/users/{trainee.id}",
                    f"/admin/users/{trainee.id}/sign-out")
    assert response.status_code == 302
    assert is_signed_out(phone) and is_signed_out(ward_pc)
    assert not is_signed_out(bystander)
    assert admin_client.get("/admin/users").status_code == 200
    assert login(app.test_client(), trainee).status_code == 302  # they may sign in again
    with app.app_context():
        [event] = events("user.signed_out_everywhere")
        assert (event.actor_id, event.target) == (people["admin"].id, f"user:{trainee.id}")


@pytest.mark.parametrize(("change", "message"), [
    (lambda client, user_id: post(client, f"/admin/users/{user_id}/deactivate"),
     "You cannot deactivate your own account"),
    (lambda client, user_id: edit(client, user_id, role="coach"),
     "You cannot change your own role"),
], ids=["deactivate", "demote"])
def test_an_admin_cannot_lock_themself_out(app, admin_client, people, change, message):
    admin = people["admin"]
    response = change(admin_client, admin.id)
    assert response.status_code in (400, 409)
    assert message in text_of(response)
    with app.app_context():
        user = db.session.get(User, admin.id)
        assert (user.active, user.role) == (True, "admin")
    assert admin_client.get("/admin/users").status_code == 200


def test_the_last_admin_who_can_sign_in_is_kept(app, make_user):
    only = make_user("only@nhs.net", role="admin")
    make_user("invited@nhs.net", role="admin", password=None)  # cannot sign in: does not count
    make_user("gone@nhs.net", role="admin", active=False)
    someone = make_user("coach@nhs.net", role="coach")
    with app.test_request_context():
        user = db.session.get(User, only.id)
        for change in (lambda: account_admin.deactivate(user, by=someone),
                       lambda: account_admin.update_details(
                           user, replace(account_admin.Details.of(user), role="coach"),
                           by=someone)):
            with pytest.raises(DomainError, match="nobody could then manage the service"):
                change()


def invite(client, email: str) -> int:
    response = post(client, "/admin/users/invite", data={
        "name": "Nia New", "email": email, "role": "trainee", "cohort_id": "0"})
    assert response.status_code == 302, response.text
    with client.application.app_context():
        return db.session.scalar(db.select(User.id).where(User.email == email))


def test_resending_an_activation_says_when_it_was_last_sent_and_waits(app, admin_client,
                                                                      smtp):
    # forwards from now, so the admin's session stays fresh
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    sent, later = f"{start:%H:%M} UTC", f"{start + timedelta(minutes=11):%H:%M} UTC"
    with time_machine.travel(start, tick=False) as clock:
        user_id = invite(admin_client, "nia@nhs.net")
        assert len(smtp.messages) == 1
        page = f"/admin/users/{user_id}"
        assert f"activation email last sent {start.day} {start:%B %Y} at {sent}" in text_of(
            admin_client.get(page))
        clock.shift(timedelta(minutes=4))
        too_soon = post(admin_client, page, f"{page}/resend-activation")
        assert too_soon.status_code == 409
        assert f"was sent to nia@nhs.net at {sent}" in text_of(too_soon)
        assert "try again in 6 minutes" in text_of(too_soon)
        assert len(smtp.messages) == 1
        clock.shift(timedelta(minutes=7))
        assert post(admin_client, page, f"{page}/resend-activation").status_code == 302
        assert len(smtp.messages) == 2
        assert f"at {later}" in text_of(admin_client.get(page))
    with app.app_context():
        [event] = events("user.activation_sent")
        assert event.target == f"user:{user_id}"


@pytest.mark.parametrize(("who", "message"), [
    ("trainee", "This account is already active"),
    ("deactivated", "Reactivate it first"),
])
def test_no_activation_email_for_an_active_or_deactivated_account(app, admin_client, people,
                                                                  make_user, smtp, who,
                                                                  message):
    user = people["trainee"] if who == "trainee" else \
        make_user("gone@nhs.net", password=None, active=False)
    page = f"/admin/users/{user.id}"
    response = post(admin_client, page, f"{page}/resend-activation")
    assert response.status_code == 409
    assert message in text_of(response)
    assert smtp.messages == []
