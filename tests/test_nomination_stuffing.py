"""A trainee stuffing their own nominee list (issue 9, point 3).

Answering links sent to their own address (under a ``+tag``, another case, a webmail alias) or
to one colleague twice, a trainee could solve a real colleague's scores from a small group.
Every attempt here goes through the real pages, single and pasted, and passes only when it is
refused with a clear message and nothing is stored.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from helpers import csrf_token, launch, nominate, paste, ready_cycle, text_of
from sqlalchemy.exc import IntegrityError

from feedback360.extensions import db
from feedback360.models import FeedbackCycle, Invitation

TRAINEE = "tara.trainee@nhs.net"
OWN = "You cannot nominate yourself"
DOMAINS = "cannot be used: colleagues must be asked at their work address, @nhs.net or an " \
          "address ending .nhs.uk"

# (address tried, what the page must say) with Sam Patel (sam.patel@nhs.net) already nominated.
ATTEMPTS = [
    ("Tara.Trainee@NHS.net", OWN),
    ("tara.trainee+peer1@nhs.net", OWN),
    ("TARA.TRAINEE+Senior@nhs.net", OWN),
    ("SAM.PATEL@nhs.net", "sam.patel@nhs.net is already nominated"),
    ("sam.patel+again@nhs.net",
     "sam.patel+again@nhs.net is the same address as sam.patel@nhs.net, already nominated"),
    ("tara.trainee@gmail.com", f"tara.trainee@gmail.com {DOMAINS}"),
    ("t.a.r.a+2@googlemail.com", f"t.a.r.a+2@googlemail.com {DOMAINS}"),
    ("someone@nhs.uk.example.com", f"someone@nhs.uk.example.com {DOMAINS}"),
]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATER_EMAIL_DOMAINS": "nhs.net, *.nhs.uk"}


@pytest.fixture
def browser(client, make_user, login):
    trainee = make_user(TRAINEE, name="Tara Trainee")
    assert login(client, trainee).status_code == 302
    return client


@pytest.fixture
def cycle_id(browser):
    """A draft cycle with Sam Patel on it."""
    cycle_id = ready_cycle(browser)
    assert nominate(browser, cycle_id, "Sam Patel", "sam.patel@nhs.net", "peer") \
        .status_code == 302
    return cycle_id


def identities(app, cycle_id: int) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(db.select(Invitation.rater_identity)
                                         .filter_by(cycle_id=cycle_id)))


@pytest.mark.parametrize(("email", "message"), ATTEMPTS)
def test_a_stuffed_single_nomination_is_refused(app, browser, cycle_id, email, message):
    before = identities(app, cycle_id)
    response = nominate(browser, cycle_id, "Another Name", email, "peer")
    assert response.status_code == 400
    assert message in text_of(response)
    assert identities(app, cycle_id) == before


def test_a_stuffed_pasted_list_adds_only_real_colleagues(app, browser, cycle_id):
    before = identities(app, cycle_id)
    lines = [f"Name {n}, {email}, peer" for n, (email, _) in enumerate(ATTEMPTS, start=1)]
    lines += ["Ann Other, ann.other@uhb.nhs.uk, peer",
              "Ann Again, Ann.Other+2@UHB.nhs.uk, senior"]
    response = paste(browser, cycle_id, lines)

    assert response.status_code == 400
    page = text_of(response)
    assert "1 colleague added" in page
    for number, (_, message) in enumerate(ATTEMPTS, start=1):
        assert f"Line {number}: {message}" in page
    assert (f"Line {len(lines)}: ann.other+2@uhb.nhs.uk is the same address as "
            f"ann.other@uhb.nhs.uk, already nominated on line {len(lines) - 1}") in page
    assert identities(app, cycle_id) == sorted([*before, "ann.other@uhb.nhs.uk"])
    # The refused lines come back to be corrected; the added one does not.
    box = re.search(r"<textarea[^>]*>(.*?)</textarea>", response.text, re.S).group(1)
    assert "ann.other@uhb.nhs.uk, peer" not in box
    assert len(box.strip().splitlines()) == len(ATTEMPTS) + 1


def test_the_page_says_which_domains_are_accepted(browser, cycle_id):
    page = text_of(browser.get(f"/cycles/{cycle_id}"))
    assert "Addresses must be @nhs.net or an address ending .nhs.uk" in page


@pytest.mark.parametrize(("email", "message"), [
    ("Tara.Trainee+1@GoogleMail.com", OWN),
    ("t.a.r.a.trainee@gmail.com", OWN),
    ("Sam.Patel+2@googlemail.com",
     "sam.patel+2@googlemail.com is the same address as sampatel@gmail.com, already nominated"),
])
def test_with_any_domain_allowed_gmail_aliases_are_still_one_person(make_app, make_user, login,
                                                                   email, message):
    app = make_app(RATER_EMAIL_DOMAINS="")
    browser = app.test_client()
    assert login(browser, make_user("taratrainee@gmail.com")).status_code == 302
    cycle_id = ready_cycle(browser)
    assert nominate(browser, cycle_id, "Sam", "sampatel@gmail.com", "peer").status_code == 302
    before = identities(app, cycle_id)

    for response in (nominate(browser, cycle_id, "Someone", email, "peer"),
                     paste(browser, cycle_id, [f"Someone, {email}, peer"])):
        assert response.status_code == 400
        assert message in text_of(response)
    assert identities(app, cycle_id) == before


def test_the_database_refuses_one_person_twice_on_a_cycle(app, cycle_id):
    with app.app_context():
        cycle = db.session.get(FeedbackCycle, cycle_id)
        db.session.add(Invitation(cycle=cycle, rater_name="Sam Twice",
                                  rater_email="sam.patel+2@nhs.net",
                                  rater_identity="sam.patel@nhs.net", rater_group="peer",
                                  token_nonce="0" * 32))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize("answered", [False, True])
def test_a_withdrawn_colleague_added_back_in_another_form_looks_the_same_whatever_they_did(
        app, browser, cycle_id, smtp, answered):
    assert launch(browser, cycle_id).status_code == 302
    with app.app_context():
        sam = db.session.scalar(db.select(Invitation).filter_by(
            cycle_id=cycle_id, rater_identity="sam.patel@nhs.net"))
        if answered:
            sam.status, sam.completed_on = "completed", date.today()
        db.session.commit()
        sam_id = sam.id
    page = browser.get(f"/cycles/{cycle_id}")
    assert browser.post(f"/cycles/{cycle_id}/nominees/{sam_id}/remove",
                        data={"csrf_token": csrf_token(page)}).status_code == 302

    response = nominate(browser, cycle_id, "Samuel Patel", "Sam.Patel+work@nhs.net", "senior")

    assert response.status_code == 302
    rows = re.findall(r'<tr class="nhsuk-table__row">.*?</tr>',
                      browser.get(f"/cycles/{cycle_id}").text, re.S)
    row = next(r for r in rows if "Samuel Patel" in r)
    assert "sam.patel+work@nhs.net" in row and "Consultant or senior scientist" in text_of(row)
    assert identities(app, cycle_id).count("sam.patel@nhs.net") == 1
