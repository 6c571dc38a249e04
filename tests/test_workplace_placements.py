"""Organisations and sites (kept by programme leads) and trainees' placements (kept by the
trainee, corrected by a lead): the rules and the pages."""

from __future__ import annotations

from datetime import date

import pytest
from helpers import add_placement, form_fields, post, text_of

from feedback360.extensions import db
from feedback360.models import Organisation, Placement, Site


def fields_of(page, name):
    """The fields of the page's form that has ``name`` (the header has a sign-out form)."""
    return next(fields for index in range(5) if name in (fields := form_fields(page, index=index)))


@pytest.fixture
def people(app, make_user):
    make_user("admin@nhs.net", role="admin", name="Ada Admin")
    trainee = make_user("tia@nhs.net", name="Tia Trainee")
    with app.app_context():
        site = add_placement(trainee.id, date(2026, 1, 1), date(2026, 6, 30)).site_id
        db.session.commit()
    return {"trainee": trainee.id, "site": site}


def signed_in(app, login, email):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


# --- organisations and sites ------------------------------------------------------------

def test_a_lead_adds_an_organisation_and_its_sites(app, people, login):
    lead = signed_in(app, login, "admin@nhs.net")
    made = post(lead, "/admin/organisations/new", data={"name": "  North  Trust "})
    assert made.status_code == 302
    org_page = made.location
    assert post(lead, "/admin/organisations/new", data={"name": "north trust"}).status_code == 400
    assert post(lead, org_page + "/sites/new", data={"name": "General"}).status_code == 302
    again = post(lead, org_page + "/sites/new", data={"name": "GENERAL"})
    assert "North Trust already has a site called General" in text_of(again)
    page = text_of(lead.get(org_page))
    assert "North Trust" in page and "General" in page
    assert "North Trust" in text_of(lead.get("/admin/organisations"))
    with app.app_context():
        site = db.session.scalar(db.select(Site).filter_by(name="General"))
        assert site.organisation.name == "North Trust"
        site_id = site.id
    assert post(lead, f"/admin/sites/{site_id}/edit", data={"name": "General Hospital"}
                ).status_code == 302
    with app.app_context():
        assert db.session.get(Site, site_id).name == "General Hospital"


def test_nothing_in_use_is_deleted(app, people, login):
    lead = signed_in(app, login, "admin@nhs.net")
    with app.app_context():
        site = db.session.get(Site, people["site"])
        organisation_id = site.organisation_id
    refused = lead.get(f"/admin/sites/{people['site']}/delete")
    assert "cannot be deleted while anything refers to it: 1 placement" in text_of(refused)
    forced = post(lead, f"/admin/sites/{people['site']}/delete")
    assert forced.status_code == 302
    assert "cannot be deleted" in text_of(lead.get(forced.location))
    assert "1 site" in text_of(lead.get(f"/admin/organisations/{organisation_id}/delete"))
    with app.app_context():
        db.session.execute(db.delete(Placement))
        db.session.commit()
    assert post(lead, f"/admin/sites/{people['site']}/delete").status_code == 302
    assert post(lead, f"/admin/organisations/{organisation_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Organisation.id))) == 0


def test_organisations_are_for_admins_leading_every_programme(app, people, login, make_user):
    from feedback360.models import LeadProgramme

    lee = make_user("lee@nhs.net", role="admin", name="Lee Scoped")
    with app.app_context():
        db.session.add(LeadProgramme(user_id=lee.id, programme="Scientist Training Programme"))
        db.session.commit()
    scoped = signed_in(app, login, "lee@nhs.net")
    assert scoped.get("/admin/organisations").status_code == 403
    assert scoped.get(f"/admin/sites/{people['site']}/edit").status_code == 403
    assert signed_in(app, login, "tia@nhs.net").get("/admin/organisations").status_code == 403


# --- placements -------------------------------------------------------------------------------

def placement_form(site, start, end=None, **changes):
    data = {"site_id": str(site), "department": "Genomics", "specialty": "",
            "supervisor_name": "Dr Sup", "supervisor_email": "sup@nhs.net",
            "started_on-day": str(start.day), "started_on-month": str(start.month),
            "started_on-year": str(start.year),
            "ended_on-day": str(end.day) if end else "",
            "ended_on-month": str(end.month) if end else "",
            "ended_on-year": str(end.year) if end else ""}
    return {**data, **changes}


@pytest.mark.parametrize(("start", "end", "message"), [
    (date(2026, 6, 1), date(2026, 12, 31), "These dates overlap another placement"),
    (date(2025, 12, 1), None, "These dates overlap another placement"),
    (date(2025, 6, 1), date(2026, 1, 1), "These dates overlap another placement"),
    (date(2027, 2, 1), date(2027, 1, 1),
     "The end date must be the same as or after the start date"),
])
def test_placements_never_overlap_nor_end_before_they_start(app, people, login, start, end,
                                                            message):
    trainee = signed_in(app, login, "tia@nhs.net")
    response = post(trainee, "/portfolio/placements/new",
                    data=placement_form(people["site"], start, end))
    assert response.status_code == 400
    assert message in text_of(response)


@pytest.mark.parametrize(("changes", "message"), [
    ({"site_id": "999"}, "Select the site"),
    ({"site_id": "99999999999999999999"}, "Select the site"),
    ({"department": ""}, "Enter the department"),
    ({"supervisor_email": "not an address"}, "Enter an email address in the correct format"),
    ({"started_on-day": "31", "started_on-month": "2"}, "Start date must be a real date"),
])
def test_bad_placement_details_are_form_errors(app, people, login, changes, message):
    trainee = signed_in(app, login, "tia@nhs.net")
    response = post(trainee, "/portfolio/placements/new",
                    data=placement_form(people["site"], date(2027, 1, 1), **changes))
    assert response.status_code == 400 and message in text_of(response)


def test_a_trainee_adds_changes_and_deletes_their_own_placements(app, people, login):
    trainee = signed_in(app, login, "tia@nhs.net")
    added = post(trainee, "/portfolio/placements/new",
                 data=placement_form(people["site"], date(2026, 7, 1)))
    assert added.status_code == 302
    page = text_of(trainee.get("/portfolio/placements"))
    assert "Genomics" in page and "1 July 2026 to now" in page
    with app.app_context():
        placement = db.session.scalar(db.select(Placement).filter_by(department="Genomics"))
        assert placement.supervisor_email == "sup@nhs.net" and placement.ended_on is None
        placement_id = placement.id
    edit = f"/portfolio/placements/{placement_id}/edit"
    fields = fields_of(trainee.get(edit), "department")
    # Changing its own dates never counts as overlapping itself.
    changed = post(trainee, edit, data={**fields, "ended_on-day": "31", "ended_on-month": "12",
                                        "ended_on-year": "2026"})
    assert changed.status_code == 302
    with app.app_context():
        assert db.session.get(Placement, placement_id).ended_on == date(2026, 12, 31)
    assert post(trainee, f"/portfolio/placements/{placement_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(Placement, placement_id) is None


def test_a_lead_sees_and_corrects_a_trainees_placements_from_the_person_page(app, people,
                                                                             login):
    lead = signed_in(app, login, "admin@nhs.net")
    person = lead.get(f"/admin/users/{people['trainee']}")
    assert f"/admin/users/{people['trainee']}/placements" in person.text
    listing = lead.get(f"/admin/users/{people['trainee']}/placements")
    assert "Clinical Biochemistry" in text_of(listing)
    with app.app_context():
        placement_id = db.session.scalar(db.select(Placement.id))
    edit = f"/admin/users/{people['trainee']}/placements/{placement_id}/edit"
    fields = fields_of(lead.get(edit), "department")
    assert post(lead, edit, data={**fields, "department": "Blood Sciences"}).status_code == 302
    with app.app_context():
        assert db.session.get(Placement, placement_id).department == "Blood Sciences"
    added = post(lead, f"/admin/users/{people['trainee']}/placements/new",
                 data=placement_form(people["site"], date(2026, 7, 1)))
    assert added.status_code == 302


def test_another_trainees_placement_is_not_found(app, people, login, make_user):
    make_user("other@nhs.net")
    other = signed_in(app, login, "other@nhs.net")
    with app.app_context():
        placement_id = db.session.scalar(db.select(Placement.id))
    assert other.get(f"/portfolio/placements/{placement_id}/edit").status_code == 404
    assert post(other, "/portfolio/placements",
                f"/portfolio/placements/{placement_id}/delete").status_code == 404
