"""Coach approval of nominee lists, for programmes that ask for it (issue 9, point 3), through
the real pages: send, approve, launch; any change needs approval again; return with a reason;
the audit trail; a trainee without a coach; cycles opened by a cohort launch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import (
    ENOUGH,
    csrf_token,
    form_fields,
    launch,
    nominate,
    paste,
    path_of,
    post,
    ready_cycle,
    text_of,
)
from sqlalchemy.exc import IntegrityError

from feedback360.extensions import db
from feedback360.models import (
    AuditEvent,
    CoachAssignment,
    Cohort,
    FeedbackCycle,
    Invitation,
    NomineeApproval,
    User,
)
from feedback360.services import cohort_launches, cycles

NOT_SENT = "Send your list of colleagues to your coach for approval before you launch"


@pytest.fixture
def cohort(make_cohort):
    return make_cohort("STP 2026 Approved", nominee_approval_required=True)


@pytest.fixture
def people(app, make_user, cohort):
    trainee = make_user("tara.trainee@nhs.net", name="Tara Trainee", cohort=cohort)
    coach = make_user("cora.coach@nhs.net", role="coach", name="Cora Coach")
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        db.session.commit()
    return trainee, coach


@pytest.fixture
def browser(client, people, login):
    assert login(client, people[0]).status_code == 302
    return client


@pytest.fixture
def coach_client(app, people, login):
    client = app.test_client()
    assert login(client, people[1]).status_code == 302
    return client


def flash_after(client, response) -> str:
    assert response.status_code == 302, text_of(response)
    return text_of(client.get(response.location))


def send_for_approval(client, cycle_id: int):
    return post(client, f"/cycles/{cycle_id}", f"/cycles/{cycle_id}/nominees/approval")


def coach_decides(client, cycle_id: int, action: str, **data: str):
    page = f"/coach/cycles/{cycle_id}/nominees"
    return post(client, page, f"{page}/{action}", data)


def status(app, cycle_id: int) -> str:
    with app.app_context():
        return db.session.get(FeedbackCycle, cycle_id).status


def audit_trail(app) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent.action, User.email, AuditEvent.target)
                                  .join(User, User.id == AuditEvent.actor_id, isouter=True)
                                  .where(AuditEvent.action.like("cycle.nominees%"))
                                  .order_by(AuditEvent.id)).all()
        return [tuple(row) for row in rows]


def test_send_approve_then_launch(app, browser, coach_client, smtp):
    cycle_id = ready_cycle(browser)
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "Your programme asks your coach to approve your list of colleagues" in page
    assert "Send the list to Cora Coach for approval" in page
    assert NOT_SENT in flash_after(browser, launch(browser, cycle_id))
    assert status(app, cycle_id) == "draft"

    assert "List sent to Cora Coach for approval" in flash_after(
        browser, send_for_approval(browser, cycle_id))
    [request] = smtp.messages_to("cora.coach@nhs.net")
    assert request["Subject"] == "Tara Trainee asks you to approve their colleagues"
    assert "Your coach has not approved your list of colleagues yet" in flash_after(
        browser, launch(browser, cycle_id))

    trainees = text_of(coach_client.get("/coach/trainees"))
    assert "Needs your action Approve the colleagues Tara Trainee nominated" in trainees
    review = coach_client.get(path_of(smtp.links(request)[0]))
    assert review.status_code == 200
    assert "Supervisor Colleague 1" in text_of(review) and "peer8@nhs.net" in review.text
    smtp.clear()
    assert "You approved Tara Trainee's colleagues" in flash_after(
        coach_client, coach_decides(coach_client, cycle_id, "approve"))
    assert [m["Subject"] for m in smtp.messages_to("tara.trainee@nhs.net")] == \
        ["Your coach has approved your colleagues"]
    assert "Approve the colleagues" not in text_of(coach_client.get("/coach/trainees"))

    assert "Approved by Cora Coach" in text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "Your feedback cycle is open" in flash_after(browser, launch(browser, cycle_id))
    assert len(smtp.messages_to("peer8@nhs.net")) == 1
    assert audit_trail(app) == [
        ("cycle.nominees_sent_for_approval", "tara.trainee@nhs.net", f"cycle:{cycle_id}"),
        ("cycle.nominees_approved", "cora.coach@nhs.net", f"cycle:{cycle_id}"),
    ]


def remove(app, client, cycle_id: int, email: str):
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        invitation_id = next(i.id for i in cycles.active_invitations(cycle)
                             if i.rater_email == email)
    return post(client, f"/cycles/{cycle_id}",
                f"/cycles/{cycle_id}/nominees/{invitation_id}/remove")


@pytest.mark.parametrize("change", ["add", "remove"])
def test_a_list_changed_after_approval_needs_approval_again(app, browser, coach_client, smtp,
                                                           change):
    cycle_id = ready_cycle(browser)
    nominate(browser, cycle_id, "Spare Peer", "spare@nhs.net", "peer")  # one to spare
    send_for_approval(browser, cycle_id)
    coach_decides(coach_client, cycle_id, "approve")
    if change == "add":
        nominate(browser, cycle_id, "Extra Peer", "extra@nhs.net", "peer")
    else:
        remove(app, browser, cycle_id, "spare@nhs.net")

    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "Changed since you sent it" in page
    assert f"{NOT_SENT}: it has changed since they approved it" in flash_after(
        browser, launch(browser, cycle_id))
    # The coach cannot approve a list that was not sent as it now is.
    assert "This list is not waiting for approval" in flash_after(
        coach_client, coach_decides(coach_client, cycle_id, "approve"))

    send_for_approval(browser, cycle_id)
    coach_decides(coach_client, cycle_id, "approve")
    assert launch(browser, cycle_id).status_code == 302
    assert status(app, cycle_id) == "open"
    assert [action for action, _, _ in audit_trail(app)] == [
        "cycle.nominees_sent_for_approval", "cycle.nominees_approved"] * 2


def test_a_list_changed_while_waiting_cannot_be_approved(app, browser, coach_client):
    cycle_id = ready_cycle(browser)
    send_for_approval(browser, cycle_id)
    nominate(browser, cycle_id, "Extra Peer", "extra@nhs.net", "peer")

    assert "Tara Trainee has changed the list since sending it" in text_of(
        coach_client.get(coach_decides(coach_client, cycle_id, "approve").location))
    assert "Approve the colleagues" not in text_of(coach_client.get("/coach/trainees"))
    assert NOT_SENT in flash_after(browser, launch(browser, cycle_id))


def test_colleagues_added_after_launch_wait_for_approval(app, browser, coach_client, smtp):
    cycle_id = ready_cycle(browser)
    send_for_approval(browser, cycle_id)
    coach_decides(coach_client, cycle_id, "approve")
    launch(browser, cycle_id)
    smtp.clear()

    added = nominate(browser, cycle_id, "Late Comer", "late@nhs.net", "nursing")
    assert "We will email an invitation once your coach approves the changed list" in \
        flash_after(browser, added)
    assert smtp.messages_to("late@nhs.net") == []

    send_for_approval(browser, cycle_id)
    assert "We are emailing any colleagues added since launch" in flash_after(
        coach_client, coach_decides(coach_client, cycle_id, "approve"))
    assert len(smtp.messages_to("late@nhs.net")) == 1
    assert len(smtp.messages_to("peer1@nhs.net")) == 0  # nobody is asked twice


def test_return_with_a_reason(app, browser, coach_client, smtp):
    cycle_id = ready_cycle(browser)
    send_for_approval(browser, cycle_id)

    blank = coach_decides(coach_client, cycle_id, "return", reason="  ")
    assert blank.status_code == 400
    assert "Say what the trainee should change" in text_of(blank)
    reason = "Peer 3 and Peer 4 look like the same person"
    assert "List returned to Tara Trainee" in flash_after(
        coach_client, coach_decides(coach_client, cycle_id, "return", reason=reason))

    [returned] = smtp.messages_to("tara.trainee@nhs.net")
    assert returned["Subject"] == "Your coach has returned your list of colleagues"
    assert reason in returned.get_body(preferencelist=("plain",)).get_content()
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert f"Cora Coach asks you to change it: “{reason}”" in page
    assert NOT_SENT in flash_after(browser, launch(browser, cycle_id))

    send_for_approval(browser, cycle_id)
    coach_decides(coach_client, cycle_id, "approve")
    assert launch(browser, cycle_id).status_code == 302
    assert [action for action, _, _ in audit_trail(app)] == [
        "cycle.nominees_sent_for_approval", "cycle.nominees_returned",
        "cycle.nominees_sent_for_approval", "cycle.nominees_approved"]


def test_a_trainee_without_a_coach_is_told_to_ask_their_programme_lead(app, client, make_user,
                                                                      cohort, login):
    login(client, make_user("solo@nhs.net", cohort=cohort))
    cycle_id = ready_cycle(client)
    advice = "Ask your programme lead to assign you a coach"
    assert advice in text_of(client.get(f"/cycles/{cycle_id}"))
    assert advice in flash_after(client, send_for_approval(client, cycle_id))
    assert audit_trail(app) == []


def test_cycles_opened_by_a_cohort_launch_need_approval_too(app, browser, cohort, make_user):
    admin = make_user("lead@nhs.net", role="admin")
    with app.test_request_context():
        cohort_launches.launch_for_cohort(
            db.session.get(Cohort, cohort.id), instrument_key="clcf", title="Cohort round",
            closes_on=date.today() + timedelta(days=30),
            launched_by=db.session.get(User, admin.id))
        db.session.commit()
        cycle_id = db.session.scalar(db.select(FeedbackCycle.id))
    assert paste(browser, cycle_id, ENOUGH).status_code == 302
    assert NOT_SENT in flash_after(browser, launch(browser, cycle_id))
    assert status(app, cycle_id) == "draft"


def edit_cohort(client, cohort_id: int, required: bool):
    page = client.get(f"/admin/cohorts/{cohort_id}/edit")
    fields = form_fields(page, index=0)
    fields.pop("nominee_approval_required", None)
    if required:
        fields["nominee_approval_required"] = "y"
    fields["csrf_token"] = csrf_token(page)
    return client.post(f"/admin/cohorts/{cohort_id}/edit", data=fields)


def test_the_programme_lead_sets_it_where_cohorts_are_edited(app, client, make_user,
                                                            make_cohort, login):
    plain = make_cohort("STP 2027")
    login(client, make_user("lead@nhs.net", role="admin"))
    assert edit_cohort(client, plain.id, True).status_code == 302
    assert "Nominee lists need coach approval" in text_of(
        client.get(f"/admin/cohorts/{plain.id}"))
    with app.app_context():
        assert db.session.get(Cohort, plain.id).nominee_approval_required
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="cohort.updated"))
        assert event.detail == {"fields": ["nominee_approval_required"]}


def test_turning_approval_off_emails_the_colleagues_waiting_for_it(
        app, browser, coach_client, cohort, make_user, login, smtp):
    cycle_id = ready_cycle(browser)
    send_for_approval(browser, cycle_id)
    coach_decides(coach_client, cycle_id, "approve")
    launch(browser, cycle_id)
    nominate(browser, cycle_id, "Late Comer", "late@nhs.net", "nursing")
    assert smtp.messages_to("late@nhs.net") == []

    lead = app.test_client()
    login(lead, make_user("lead@nhs.net", role="admin"))
    assert edit_cohort(lead, cohort.id, False).status_code == 302
    assert len(smtp.messages_to("late@nhs.net")) == 1
    assert "Your coach's approval" not in text_of(browser.get(f"/cycles/{cycle_id}"))


@pytest.mark.parametrize("answered", [False, True])
def test_approving_a_colleague_added_back_says_nothing_of_whether_they_had_answered(
        app, browser, coach_client, smtp, answered):
    cycle_id = ready_cycle(browser)
    send_for_approval(browser, cycle_id)
    coach_decides(coach_client, cycle_id, "approve")
    launch(browser, cycle_id)
    if answered:
        with app.app_context():
            peer = db.session.scalar(db.select(Invitation).filter_by(rater_email="peer1@nhs.net"))
            peer.status, peer.completed_on = "completed", date.today()
            db.session.commit()
    remove(app, browser, cycle_id, "peer1@nhs.net")
    nominate(browser, cycle_id, "Peer One", "peer1@nhs.net", "peer")
    send_for_approval(browser, cycle_id)

    page = flash_after(coach_client, coach_decides(coach_client, cycle_id, "approve"))
    assert "You approved Tara Trainee's colleagues. We are emailing any colleagues added " \
           "since launch." in page


@pytest.mark.parametrize("values", [
    {"status": "approved"},
    {"status": "approved", "decided_by": True},
    {"status": "approved", "decided_at": True},
    {"status": "returned", "decided_by": True, "decided_at": True},
    {"status": "returned", "decided_by": True, "decided_at": True, "return_reason": ""},
    {"status": "requested", "decided_by": True, "decided_at": True},
    {"status": "requested", "return_reason": "Why"},
    {"status": "lost"},
    {"status": "requested", "fingerprint": "short"},
])
def test_the_database_refuses_an_approval_without_who_when_or_why(app, people, values):
    trainee, coach = people
    with app.app_context():
        cycle = cycles.create_cycle(db.session.get(User, trainee.id), instrument_key="clcf",
                                    title="C", closes_on=date.today() + timedelta(days=30))
        row = NomineeApproval(cycle_id=cycle.id, status=values["status"],
                              fingerprint=values.get("fingerprint", "0" * 64),
                              decided_by_id=coach.id if values.get("decided_by") else None,
                              decided_at=datetime.now(UTC)
                              if values.get("decided_at") else None,
                              return_reason=values.get("return_reason"))
        db.session.add(row)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
