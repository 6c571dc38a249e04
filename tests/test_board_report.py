"""The champion's quarterly board report: produced and frozen, commentary, the A4 page, the PDF
read back, the CSV of the figures, and affordances by site under the disclosure audit."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from champion_helpers import activity, champion_world, make_organisation, time_lost
from helpers import audit_events, csrf_token, post_form, text_of
from pypdf import PdfReader

from feedback360.extensions import db
from feedback360.models import (
    AffordanceAnswer,
    AffordanceResponse,
    BoardReport,
    InstrumentVersion,
    Placement,
)
from feedback360.quarters import Quarter
from feedback360.services.board_reports import affordances_by_site

A4_POINTS = (595.28, 841.89)
TODAY = datetime(2026, 7, 10, 9, tzinfo=UTC)
REPORT = "/champion/board/2026/2"


@pytest.fixture
def world(app, make_user):
    made = champion_world(app, make_user, trainees=12)
    with app.app_context():
        for trainee in made.trainee_ids:
            activity(trainee, category="shadowing", title="Shadowed the chief executive")
            time_lost(trainee, "rota")
        db.session.commit()
    return made


@pytest.fixture
def champion(app, world, login):
    with time_machine.travel(TODAY, tick=False):
        client = app.test_client()
        login(client, world.champion_email)
        yield client


def _produce(client):  # type: ignore[no-untyped-def]
    return post_form(client, "/champion/board", {"quarter": "2026-Q2"})


def test_producing_freezes_the_report_and_producing_again_refreshes_it(app, world, champion):
    assert _produce(champion).location == REPORT
    page = text_of(champion.get(REPORT))
    assert "report to the board, Q2 2026" in page
    assert "Shadowing activities" in page and "Arrange shadowing opportunities" not in page
    with app.app_context():
        for trainee in world.trainee_ids:
            activity(trainee, category="shadowing")
        db.session.commit()
    assert db_figure(app, "shadowing") == 12
    assert "24" not in text_of(champion.get(REPORT))
    again = champion.post(f"{REPORT}/produce", data={"csrf_token": _token(champion)})
    assert again.status_code == 302
    assert db_figure(app, "shadowing") == 24
    assert [e[2] for e in audit_events(app, "board_report.produced")] == [
        {"quarter": "2026-Q2"}, {"quarter": "2026-Q2"}]


def _token(client) -> str:  # type: ignore[no-untyped-def]
    return csrf_token(client.get(REPORT))


def db_figure(app, key: str) -> float | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        report = db.session.scalar(db.select(BoardReport))
        return next(f["value"] for f in report.figures["trend"][-1]["figures"] if f["key"] == key)


def test_the_commentary_is_saved_and_shown(app, world, champion):
    _produce(champion)
    saved = champion.post(f"{REPORT}/commentary", data={
        "csrf_token": _token(champion),
        "commentary": "Shadowing is now offered at both sites.\n\nNext: rotas."})
    assert saved.status_code == 302
    assert "Shadowing is now offered at both sites." in text_of(champion.get(REPORT))
    too_long = champion.post(f"{REPORT}/commentary", data={
        "csrf_token": _token(champion), "commentary": "x" * 8001})
    assert too_long.status_code == 400 and "8000 characters or fewer" in text_of(too_long)


def test_the_pdf_is_a4_with_the_report_in_it(app, world, champion):
    _produce(champion)
    response = champion.get(f"{REPORT}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    reader = PdfReader(io.BytesIO(response.data))
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=0.5)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Example NHS Foundation Trust" in text
    assert "report to the board" in text and "Shadowing activities" in text
    assert audit_events(app, "board_report.downloaded")[-1][2] == {"format": "pdf"}


def test_the_csv_has_each_figure_for_each_quarter_of_the_trend(world, champion):
    _produce(champion)
    response = champion.get(f"{REPORT}/figures.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert {row["quarter"] for row in rows} == {"2026-Q1", "2026-Q2"}  # placed from January
    shadowing = next(row for row in rows
                     if (row["quarter"], row["figure"]) == ("2026-Q2", "shadowing"))
    assert (shadowing["value"], shadowing["trainees"], shadowing["suppressed"]) == (
        "12", "12", "no")


def test_only_produced_reports_of_past_or_current_quarters(world, champion):
    assert champion.get(REPORT).status_code == 404
    assert champion.get("/champion/board/2026/7").status_code == 404
    future = post_form(champion, "/champion/board", {"quarter": "2026-Q4"})
    assert future.status_code == 400 and "Choose a quarter" in text_of(future)


def test_another_organisations_champion_sees_only_their_own(app, world, champion, make_user,
                                                            login):
    _produce(champion)
    with app.app_context():
        other, _ = make_organisation("Another Trust", ("Far Hospital",))
        db.session.commit()
        other_id = other.id
    make_user("other@nhs.net", role="champion", organisation_id=other_id)
    client = app.test_client()
    login(client, "other@nhs.net")
    for path in (REPORT, f"{REPORT}/report.pdf", f"{REPORT}/figures.csv"):
        assert client.get(path).status_code == 404, path
    assert "Example NHS" not in client.get("/champion/commitment").text


def _affordances(app, world, scores, site_of=lambda n: n % 2):  # type: ignore[no-untyped-def]
    with app.app_context():
        version = InstrumentVersion(key="affordances", version=1, sha256="0" * 64,
                                    title="Affordances", definition={})
        db.session.add(version)
        db.session.flush()
        for n, trainee in enumerate(world.trainee_ids[:len(scores)]):
            placement = db.session.scalar(db.select(Placement).where(
                Placement.trainee_id == trainee))
            placement.site_id = world.site_ids[site_of(n)]
            response = AffordanceResponse(trainee_id=trainee, placement_id=placement.id,
                                          instrument_version_id=version.id,
                                          submitted_at=datetime(2026, 5, 1, tzinfo=UTC))
            response.answers.append(AffordanceAnswer(item_key="role_models", score=scores[n]))
            db.session.add(response)
        db.session.commit()
        return affordances_by_site(world.organisation_id, Quarter(2026, 2))


def test_affordances_by_site_are_shown_for_enough_trainees(app, world):
    shown = _affordances(app, world, [8, 6] * 6)
    assert [(s["site"], s["items"][0]["mean"], s["items"][0]["trainees"]) for s in shown] == [
        ("All sites", 7.0, 12), ("City Hospital", 8.0, 6), ("Riverside Hospital", 6.0, 6)]


def test_a_small_site_is_hidden_and_cannot_be_had_from_all_sites(app, world):
    shown = _affordances(app, world, [3] * 3 + [8] * 9, site_of=lambda n: 0 if n < 3 else 1)
    by_site = {s["site"]: s["items"][0]["mean"] for s in shown}
    assert by_site["City Hospital"] is None
    assert by_site["All sites"] is None or by_site["Riverside Hospital"] is None
