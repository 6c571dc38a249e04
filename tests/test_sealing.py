"""Sealed blobs (``feedback360.sealing``): only the app's key opens them, only for the row they
were sealed to, rotation keeps them readable, their length says nothing, and one that will not
open is a clear page, never a 500."""

from __future__ import annotations

import pytest
from helpers import sealed_answers
from test_survey import PAGE_KEYS, PEER, answer_all, launch_cycle, open_link, save_comments, submit

from feedback360 import sealing
from feedback360.extensions import db
from feedback360.models import FeedbackCycle, Invitation, Response, SealedResponse
from feedback360.services import cycles

PAYLOAD = {"g": "peer", "answers": {"a": 4, "b": "na"}, "comments": {"strengths": "Kind."}}


@pytest.fixture
def trainee(make_user):
    return make_user("alex.trainee@nhs.net", name="Alex Trainee")


def test_a_seal_opens_only_for_its_purpose_and_owner(app):
    with app.app_context():
        blob = sealing.seal(PAYLOAD, purpose=sealing.SUBMITTED, owner=3)
        assert sealing.unseal(blob, purpose=sealing.SUBMITTED, owner=3) == PAYLOAD
        assert b"Kind." not in blob and b"peer" not in blob
        # Moved to another cycle, or read as a draft: refused, not misread.
        for purpose, owner in ((sealing.SUBMITTED, 4), (sealing.DRAFT, 3)):
            with pytest.raises(sealing.SealBroken):
                sealing.unseal(blob, purpose=purpose, owner=owner)
        # A fresh random nonce every time: the same answers never give the same bytes.
        assert sealing.seal(PAYLOAD, purpose=sealing.SUBMITTED, owner=3) != blob


@pytest.mark.parametrize("damage", [
    lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # the tag
    lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:],  # the ciphertext
    lambda b: b"\x02" + b[1:],  # an unknown format
    lambda b: b[:10],  # truncated
    lambda b: b"",
], ids=["tag", "ciphertext", "format", "truncated", "empty"])
def test_a_tampered_blob_is_refused_with_a_clear_message(app, damage):
    with app.app_context():
        blob = sealing.seal(PAYLOAD, purpose=sealing.DRAFT, owner=1)
        with pytest.raises(sealing.SealBroken, match="could not be read"):
            sealing.unseal(damage(blob), purpose=sealing.DRAFT, owner=1)


@pytest.mark.parametrize("comment_length", [0, 1, 400, 4000])
def test_every_blob_has_the_same_length_whatever_it_holds(app, comment_length):
    """Two full comments of ordinary prose still fit the one bucket."""
    with app.app_context():
        empty = sealing.seal({"g": "peer", "answers": {}, "comments": {}},
                             purpose=sealing.SUBMITTED, owner=1)
        words = ("Calm and clear at handover, listens before deciding. " * 80)[:comment_length]
        full = {"g": "management", "answers": {f"item-{n}": n % 5 + 1 for n in range(48)},
                "comments": {"strengths": words, "development": words[::-1]}}
        assert len(sealing.seal(full, purpose=sealing.SUBMITTED, owner=1)) == len(empty)
        assert len(empty) == 1 + sealing.NONCE_BYTES + sealing.BUCKET_BYTES + sealing.TAG_BYTES


def test_rotating_the_secret_key_still_opens_what_was_sealed_before(make_app, trainee, smtp):
    """Sealed under the old key (a draft and a submitted response), then the key is rotated:
    the rater resumes, another submits, counts and the close all open the old seals."""
    old = make_app(SECRET_KEY="the-old-key")
    launched = launch_cycle(old, smtp, trainee)
    before = old.test_client()
    open_link(before, launched.links[PEER])
    answer_all(before, "3")  # sealed draft, old key
    nurse = old.test_client()
    open_link(nurse, launched.links["nell.nurse@nhs.net"])
    answer_all(nurse, "5")
    assert submit(nurse).status_code == 302  # sealed response, old key

    rotated = make_app(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["the-old-key"])
    after = rotated.test_client()
    open_link(after, launched.links[PEER])  # links signed with the old key still work too
    page = after.get("/survey/page/1")
    assert page.status_code == 200 and page.text.count(" checked") == len(PAGE_KEYS[0])
    save_comments(after, {"strengths": "Steady."})  # re-sealed under the new key
    assert submit(after).status_code == 302
    with rotated.app_context():
        assert sorted(p["g"] for p in sealed_answers()) == ["nursing", "peer"]
        cycle = db.session.get(FeedbackCycle, launched.cycle_id)
        assert sum(cycles.response_counts(cycle).values()) == 2
        cycles.close_cycle(cycle, by=None)
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(Response)
                                 .where(~Response.is_self)) == 2

    with old.app_context():
        sealed_before = sealing.seal(PAYLOAD, purpose=sealing.DRAFT, owner=1)
    with rotated.app_context():
        assert sealing.unseal(sealed_before, purpose=sealing.DRAFT, owner=1) == PAYLOAD
    # Once the old key is dropped from the fallbacks, what it sealed cannot be opened.
    with make_app(SECRET_KEY="the-new-key").app_context(), pytest.raises(sealing.SealBroken):
        sealing.unseal(sealed_before, purpose=sealing.DRAFT, owner=1)


@pytest.mark.parametrize("where", ["draft", "submitted"])
def test_a_tampered_seal_gives_a_clear_page_never_a_500(app, client, trainee, smtp, login,
                                                         where):
    launched = launch_cycle(app, smtp, trainee)
    open_link(client, launched.links[PEER])
    answer_all(client, "4")
    if where == "submitted":
        assert submit(client).status_code == 302
    with app.app_context():
        column = Invitation.draft if where == "draft" else SealedResponse.sealed
        row = db.session.scalars(db.select(column.class_).where(column.is_not(None))).one()
        blob = bytearray(getattr(row, column.key))
        blob[-1] ^= 1
        setattr(row, column.key, bytes(blob))
        db.session.commit()
    if where == "draft":
        page = client.get("/survey/page/1")  # the rater resuming
    else:
        trainee_browser = app.test_client()  # the status page counts the sealed rows
        login(trainee_browser, trainee)
        page = trainee_browser.get(f"/cycles/{launched.cycle_id}")
    assert page.status_code == 409
    assert "Saved answers could not be read" in page.text
    assert "SECRET_KEY_FALLBACKS" in page.text
