"""A new cycle in a new placement offers to ask the previous placement's colleagues again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import add_placement, form_fields, new_cycle, nominate, text_of

from feedback360.extensions import db
from feedback360.models import FeedbackCycle, Invitation, Placement, User
from feedback360.services import cycles

TODAY = date.today()
PREVIOUS = [("Sam Super", "sam@nhs.net", "supervisor"), ("Sue Senior", "sue@nhs.net", "senior"),
            ("Pat Peer", "pat@nhs.net", "peer"), ("Rob Removed", "rob@nhs.net", "peer"),
            ("Dee Declined", "dee@nhs.net", "peer"),
            *[(f"Peer {n}", f"peer{n}@nhs.net", "peer") for n in range(6)]]  # the rule's ten


@pytest.fixture
def trainee(app, make_user):
    """Tia's launched and closed cycle of 100 days ago, during her placement at Old Site."""
    person = make_user("tia@nhs.net", name="Tia Trainee")
    with app.app_context():
        owner = db.session.get(User, person.id)
        add_placement(person.id, TODAY - timedelta(days=200), TODAY - timedelta(days=30),
                      site="Old Site", department="Haematology")
        cycle = cycles.create_cycle(owner, instrument_key="clcf", title="Last year's cycle",
                                    closes_on=TODAY + timedelta(days=30))
        for name, email, group in PREVIOUS:
            cycles.nominate(cycle, name=name, email=email, group=group)
        cycles.launch(cycle)
        invitations = {i.rater_name: i for i in cycle.invitations}
        invitations["Rob Removed"].removed_at = datetime.now(UTC)
        invitations["Dee Declined"].status = "declined"
        cycles.close_cycle(cycle, by=None)
        cycle.opens_on, cycle.closes_on = TODAY - timedelta(days=100), TODAY - timedelta(days=60)
        db.session.commit()
    return person


def move(app, trainee_id, *, same_site: bool):
    with app.app_context():
        if same_site:  # the old placement goes on
            db.session.scalar(db.select(Placement)).ended_on = None
        else:
            add_placement(trainee_id, TODAY - timedelta(days=29), site="New Site",
                          department="Genomics")
        db.session.commit()


def test_a_new_placement_offers_the_previous_cycles_colleagues(app, trainee, client, login):
    move(app, trainee.id, same_site=False)
    login(client, "tia@nhs.net")
    cycle_id = new_cycle(client)
    nominate(client, cycle_id, "Pat Again", "PAT@nhs.net", "peer")
    page = text_of(client.get(f"/cycles/{cycle_id}"))
    assert "You have moved placement since “Last year's cycle”" in page
    assert "Haematology at Old Site" in page
    offer = client.get(f"/portfolio/cycles/{cycle_id}/reinvite")
    listed = text_of(offer)
    for name in ("Sam Super", "Sue Senior", "Dee Declined"):
        assert name in listed
    # Withdrawn by the trainee, or already on this cycle: not offered.
    assert "Rob Removed" not in listed and "Pat Peer" not in listed
    with app.app_context():
        ids = {i.rater_name: i.id for i in db.session.scalars(
            db.select(Invitation).join(FeedbackCycle).where(FeedbackCycle.id != cycle_id))}
    fields = form_fields(offer, index=1)  # after the header's sign-out form
    path = f"/portfolio/cycles/{cycle_id}/reinvite"
    response = client.post(path, data={**fields, "invitations": [str(ids["Sam Super"]),
                                                                 str(ids["Sue Senior"])]})
    assert response.status_code == 302
    with app.app_context():
        added = {(i.rater_name, i.rater_email, i.rater_group) for i in db.session.scalars(
            db.select(Invitation).filter_by(cycle_id=cycle_id))}
    assert {("Sam Super", "sam@nhs.net", "supervisor"),
            ("Sue Senior", "sue@nhs.net", "senior")} <= added
    assert "Sam Super" not in text_of(client.get(path, follow_redirects=True)).split(
        "Colleagues to ask again")[-1]


def test_nothing_ticked_is_a_form_error(app, trainee, client, login):
    move(app, trainee.id, same_site=False)
    login(client, "tia@nhs.net")
    cycle_id = new_cycle(client)
    path = f"/portfolio/cycles/{cycle_id}/reinvite"
    page = client.get(path)
    fields = form_fields(page, index=1)
    response = client.post(path, data=fields)
    assert response.status_code == 400
    assert "Select the colleagues you want to ask again" in text_of(response)


def test_the_same_placement_offers_nothing(app, trainee, client, login):
    move(app, trainee.id, same_site=True)
    login(client, "tia@nhs.net")
    cycle_id = new_cycle(client)
    assert "You have moved placement" not in text_of(client.get(f"/cycles/{cycle_id}"))
    assert client.get(f"/portfolio/cycles/{cycle_id}/reinvite").status_code == 302
