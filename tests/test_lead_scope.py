"""Programme leads limited to some programmes (issue 10, point 6): every admin and cohort route.

Lee leads the Scientist Training Programme only; Ada leads every programme. Each programme has a
cohort with a trainee (coached, with a closed cycle) and a launch. Lee reaches everything of the
STP cohort and gets a 404 (recorded as refused access) for the other programme's, for a cohort
without a programme and for staff accounts; the audit trail, the user import and programme
scopes are Ada's alone. Ada's view is the one every admin had before scoping (the rest of the
suite, ``test_authorisation_matrix.py`` included, runs as unscoped admins).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import add_placement, csrf_token, form_fields, text_of
from test_cohort_report_views import closed_cycle

from feedback360.extensions import db
from feedback360.models import AuditEvent, CoachAssignment, Cohort, LeadProgramme, User
from feedback360.services import DomainError, cohort_launches, lead_scope
from feedback360.views.scoping import UNSCOPED_ONLY

STP, FP = "Scientist Training Programme", "Foundation Programme"
SCOPED_BLUEPRINTS = ("admin", "cohort", "cohort_reports")


def limit(app, user_id: int, *programmes: str) -> None:
    with app.app_context():
        db.session.add_all(LeadProgramme(user_id=user_id, programme=p) for p in programmes)
        db.session.commit()


def _programme_side(app, make_cohort, make_user, programme: str | None, tag: str,
                     coach: User, lead: User) -> dict[str, int]:
    cohort = make_cohort(f"{tag} 2026", programme=programme)
    trainee = make_user(f"trainee.{tag.lower()}@nhs.net", name=f"Trainee {tag}", cohort=cohort)
    cycle_id = closed_cycle(app, trainee.id, 1)
    with app.app_context():
        assignment = CoachAssignment(coach_id=coach.id, trainee_id=trainee.id)
        db.session.add(assignment)
        launch = cohort_launches.launch_for_cohort(
            db.session.get(Cohort, cohort.id), instrument_key="clcf", title=f"{tag} launch",
            closes_on=date.today() + timedelta(days=30), launched_by=db.session.get(User, lead.id))
        placement = add_placement(trainee.id, date.today(), site=f"{tag} site")
        db.session.commit()
        return {"cohort_id": cohort.id, "user_id": trainee.id, "cycle_id": cycle_id,
                "assignment_id": assignment.id, "launch_id": launch.id,
                "placement_id": placement.id, "site_id": placement.site_id,
                "organisation_id": placement.site.organisation_id}


@pytest.fixture
def world(app, make_cohort, make_user):
    coach = make_user("coach@nhs.net", role="coach", name="Cora Coach")
    ada = make_user("ada@nhs.net", role="admin", name="Ada Unscoped")
    lee = make_user("lee@nhs.net", role="admin", name="Lee Scoped")
    limit(app, lee.id, STP)
    return {"inside": _programme_side(app, make_cohort, make_user, STP, "Inside", coach, ada),
            "outside": _programme_side(app, make_cohort, make_user, FP, "Outside", coach, ada),
            "no programme": _programme_side(app, make_cohort, make_user, None, "Nowhere",
                                            coach, ada),
            "coach_id": coach.id, "ada_id": ada.id, "lee_id": lee.id}


def signed_in(app, login, email: str):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def scoped_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in SCOPED_BLUEPRINTS or rule.endpoint == "home.admin_home":
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def call(client, rule, method: str, values: dict[str, int]):
    url = rule.build(values, append_unknown=False)[1]
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(client.get("/home/admin"))})


def refusals(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "access.refused"))


def test_a_scoped_lead_reaches_every_route_of_their_programme(app, world, login):
    client = signed_in(app, login, "lee@nhs.net")
    checked = 0
    for rule, method in scoped_routes(app):
        response = call(client, rule, method, world["inside"])
        where = f"{method} {rule.rule}: {response.status_code}"
        if rule.endpoint in UNSCOPED_ONLY:
            assert response.status_code == 403, where
        else:
            assert response.status_code < 500 and response.status_code not in (403, 404), where
        checked += 1
    assert checked > 30


@pytest.mark.parametrize("side", ["outside", "no programme"])
def test_outside_their_programmes_every_object_route_is_a_recorded_404(app, world, login,
                                                                       side):
    client = signed_in(app, login, "lee@nhs.net")
    before, refused = refusals(app), 0
    for rule, method in scoped_routes(app):
        if not rule.arguments:
            continue
        response = call(client, rule, method, world[side])
        expected = 403 if rule.endpoint in UNSCOPED_ONLY else 404
        assert response.status_code == expected, f"{method} {rule.rule}: {response.status_code}"
        refused += 1
    assert refused > 20
    assert refusals(app) - before == refused  # each one in the audit trail


@pytest.mark.parametrize("staff", ["coach_id", "ada_id", "lee_id"])
def test_staff_accounts_are_not_a_scoped_leads_to_see(app, world, login, staff):
    client = signed_in(app, login, "lee@nhs.net")
    for rule, method in scoped_routes(app):
        if "user_id" in rule.arguments:
            # Anything else the route names is the programme's own (its placement).
            response = call(client, rule, method, {**world["inside"], "user_id": world[staff]})
            assert response.status_code in (403, 404), f"{method} {rule.rule}"


def test_an_unscoped_admin_still_reaches_every_programme(app, world, login):
    client = signed_in(app, login, "ada@nhs.net")
    for side in ("inside", "outside", "no programme"):
        for rule, method in scoped_routes(app):
            if method == "GET" and rule.arguments and rule.endpoint != "admin.user_programmes":
                response = call(client, rule, method, world[side])
                assert response.status_code in (200, 302, 400), f"{side}: {rule.rule}"


@pytest.mark.parametrize(("who", "seen", "unseen"), [
    ("lee@nhs.net", ["Inside 2026", "Trainee Inside"],
     ["Outside 2026", "Nowhere 2026", "Trainee Outside", "Cora Coach", "Ada Unscoped",
      "Audit trail", "Import users"]),
    ("ada@nhs.net", ["Inside 2026", "Outside 2026", "Nowhere 2026", "Trainee Outside",
                     "Cora Coach", "Audit trail", "Import users"], []),
])
def test_lists_show_only_the_leads_programmes(app, world, login, who, seen, unseen):
    client = signed_in(app, login, who)
    text = " ".join(text_of(client.get(page)) for page in
                    ("/home/admin", "/admin/cohorts", "/admin/users"))
    assert [name for name in seen if name not in text] == []
    assert [name for name in unseen if name in text] == []


@pytest.mark.parametrize("spelling", [" scientist  TRAINING programme",
                                      "SCIENTIST TRAINING PROGRAMME"])
def test_programmes_compare_without_case_or_spaces(app, world, login, spelling):
    with app.app_context():
        cohort = db.session.get(Cohort, world["outside"]["cohort_id"])
        cohort.programme = spelling
        db.session.commit()
    client = signed_in(app, login, "lee@nhs.net")
    assert client.get(f"/admin/cohorts/{world['outside']['cohort_id']}").status_code == 200
    # the lists agree with the pages
    assert "Trainee Outside" in text_of(client.get("/admin/users"))
    assert "Outside 2026" in text_of(client.get("/admin/cohorts"))


def test_an_unscoped_admin_sets_a_leads_programmes_audited(app, world, login):
    client = signed_in(app, login, "ada@nhs.net")
    page = client.get(f"/admin/users/{world['lee_id']}")
    assert "Programmes " + STP in text_of(page)
    form = client.get(f"/admin/users/{world['lee_id']}/programmes")
    assert form_fields(form, index=1).get("programmes") == STP  # ticked
    response = client.post(f"/admin/users/{world['lee_id']}/programmes", data={
        "csrf_token": csrf_token(form), "programmes": [STP, FP]})
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.action == "user.programmes_changed")).one()
        assert event.target == f"user:{world['lee_id']}"
        assert event.detail["programmes"] == [[STP], [FP, STP]]
        assert event.actor_id == world["ada_id"]
    lee = signed_in(app, login, "lee@nhs.net")
    assert lee.get(f"/admin/cohorts/{world['outside']['cohort_id']}").status_code == 200
    # none ticked: every programme again
    client.post(f"/admin/users/{world['lee_id']}/programmes", data={
        "csrf_token": csrf_token(form)})
    assert lee.get(f"/admin/cohorts/{world['no programme']['cohort_id']}").status_code == 200


def test_a_programme_not_offered_is_a_form_error(app, world, login):
    client = signed_in(app, login, "ada@nhs.net")
    form = client.get(f"/admin/users/{world['lee_id']}/programmes")
    response = client.post(f"/admin/users/{world['lee_id']}/programmes", data={
        "csrf_token": csrf_token(form), "programmes": ["Made up"]})
    assert response.status_code == 400 and "Select programmes from the list" in response.text


@pytest.mark.parametrize(("lead", "target", "message"), [
    ("ada_id", "ada_id", "You cannot limit your own programmes"),
    ("ada_id", "coach_id", "Only programme leads"),
    ("lee_id", "ada_id", "Only an admin who leads every programme"),
])
def test_who_may_limit_whom(app, world, lead, target, message):
    with app.test_request_context():
        by, person = (db.session.get(User, world[k]) for k in (lead, target))
        with pytest.raises(DomainError, match=message):
            lead_scope.set_programmes(person, [FP], by=by)


def test_a_scoped_lead_keeps_cohorts_and_trainees_in_their_programmes(app, world, login):
    client = signed_in(app, login, "lee@nhs.net")
    form = client.get("/admin/cohorts/new")
    outside = client.post("/admin/cohorts/new", data={
        "csrf_token": csrf_token(form), "name": "FP 2027", "programme": FP})
    assert outside.status_code == 400 and "Enter one of the programmes you lead" in outside.text
    inside = client.post("/admin/cohorts/new", data={
        "csrf_token": csrf_token(form), "name": "STP 2027", "programme": STP.lower()})
    assert inside.status_code == 302
    trainee = world["inside"]["user_id"]
    edit = client.get(f"/admin/users/{trainee}/edit")
    assert "Outside 2026" not in edit.text  # not offered as a cohort
    promote = client.post(f"/admin/users/{trainee}/edit", data={
        **form_fields(edit, index=1), "role": "admin", "cohort_id": "0"})
    assert promote.status_code == 400 and "You can manage trainees only" in promote.text
    invite = client.get("/admin/users/invite")
    staff = client.post("/admin/users/invite", data={
        **form_fields(invite, index=1), "name": "New Coach", "email": "new.coach@nhs.net",
        "role": "coach", "cohort_id": "0"})
    assert staff.status_code == 400 and "You can manage trainees only" in staff.text
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "new.coach@nhs.net")) is None


# --- reports and exports ---------------------------------------------------------------------

@pytest.fixture
def two_programmes(app, make_cohort, make_user):
    """Two intakes of the STP (so the report has a trend) and one of another programme, five
    trainees each with a closed cycle; Lee leads the STP only."""
    ids = {}
    for name, programme, year in [("STP 2025", STP, 2025), ("STP 2026", STP, 2026),
                                  ("FP 2026", FP, 2026)]:
        cohort = make_cohort(name, programme=programme, intake_year=year)
        for n in range(5):
            closed_cycle(app, make_user(f"{name.replace(' ', '')}.{n}@nhs.net",
                                        cohort=cohort).id, n + year)
        ids[name] = cohort.id
    limit(app, make_user("lee@nhs.net", role="admin").id, STP)
    make_user("ada@nhs.net", role="admin")
    return ids


DOWNLOADS = [f"report/download?file={kind}&format=csv" for kind in ("aggregates", "items")]


def without_download_time(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if "Downloaded" not in line)


def test_a_scoped_leads_reports_and_exports_hold_only_their_programmes(app, two_programmes,
                                                                       login):
    lee, ada = (signed_in(app, login, email) for email in ("lee@nhs.net", "ada@nhs.net"))
    stp = two_programmes["STP 2026"]
    for path in ["report", *DOWNLOADS]:
        mine, everyone = lee.get(f"/cohorts/{stp}/{path}"), ada.get(f"/cohorts/{stp}/{path}")
        assert mine.status_code == everyone.status_code == 200, path
        assert "STP 2025" in mine.text or path != "report"  # the trend: same programme
        assert "FP 2026" not in mine.text and FP not in mine.text, path
        if path != "report":  # the same file, figure for figure, as an unscoped admin's
            assert without_download_time(mine.text) == without_download_time(everyone.text)
    fp = two_programmes["FP 2026"]
    for path in ["report", *DOWNLOADS]:
        assert lee.get(f"/cohorts/{fp}/{path}").status_code == 404
        assert ada.get(f"/cohorts/{fp}/{path}").status_code == 200
    with app.app_context():
        exported = db.session.scalars(db.select(AuditEvent.target).where(
            AuditEvent.action == "cohort.exported",
            AuditEvent.actor_id == db.select(User.id).where(User.email == "lee@nhs.net")
            .scalar_subquery())).all()
    assert exported == [f"cohort:{stp}"] * 2
