"""The privacy notice, accessibility statement and contact page: public, naming the
organisation and the addresses from its settings, and linked from every page's footer and
from the survey's welcome page (a rater must be able to read the notice before answering)."""

from __future__ import annotations

import pytest
from test_survey import launch_cycle, open_link, words

from feedback360.config import ConfigurationError, load

CONTACTS = {"ORGANISATION_NAME": "Tamar Valley NHS Foundation Trust",
            "DATA_PROTECTION_CONTACT": "dpo@tamarvalley.nhs.uk",
            "CONTACT_EMAIL": "feedback@tamarvalley.nhs.uk"}
PAGES = {"/privacy": "Privacy notice", "/accessibility": "Accessibility statement",
         "/contact": "Contact us"}
FOOTER_LINKS = [f'href="{path}">{text}</a>' for path, text in PAGES.items()]


@pytest.fixture
def app_config(app_config):
    return {**app_config, **CONTACTS}


@pytest.mark.parametrize(("path", "must_say"), [
    ("/privacy", ["Tamar Valley NHS Foundation Trust runs feedback360 and is the data controller",
                  "mailto:dpo@tamarvalley.nhs.uk", "Article 6(1)(e)", "Article 6(1)(f)",
                  "stored with nothing that links them to you", "If you are a trainee",
                  "If you are asked for feedback (a rater)",
                  "If you are a coach or a programme lead",
                  "2,190 days (6 years)", "Information Commissioner's Office",
                  "ico.org.uk/make-a-complaint", "within one month"]),
    ("/accessibility", ["run by Tamar Valley NHS Foundation Trust",
                        "partially compliant with the", "Web Content Accessibility Guidelines "
                        "version 2.2", "mailto:feedback@tamarvalley.nhs.uk",
                        "Enforcement procedure", "Equality Advisory and Support Service",
                        "How we tested this service", "prepared on 5 December 2026"]),
    ("/contact", ["run by Tamar Valley NHS Foundation Trust",
                  "mailto:feedback@tamarvalley.nhs.uk", "mailto:dpo@tamarvalley.nhs.uk"]),
])
def test_each_page_is_public_and_names_the_organisation_and_its_contacts(client, path, must_say):
    page = client.get(path)
    assert page.status_code == 200
    text = page.text.replace("&#39;", "'")
    for phrase in must_say:
        assert phrase in text or phrase in words(page), phrase
    assert "This page is a template" not in text  # only while the demo's organisation is set


def test_with_the_demo_organisation_the_pages_say_they_are_a_template(make_app):
    client = make_app(ORGANISATION_NAME="Example NHS Foundation Trust").test_client()
    for path in PAGES:
        assert "This page is a template" in client.get(path).text


@pytest.mark.parametrize(("organisation", "warned"), [
    ("Example NHS Foundation Trust", True), ("Tamar Valley NHS Foundation Trust", False)])
def test_production_warns_while_the_pages_name_the_demo_organisation(make_app, caplog,
                                                                    organisation, warned):
    make_app(FEEDBACK360_ENV="production", SECRET_KEY="k" * 64, ORGANISATION_NAME=organisation)
    assert ("ORGANISATION_NAME is the demo's" in caplog.text) is warned


def test_audit_events_kept_forever_are_said_to_be(make_app):
    page = make_app(AUDIT_RETENTION_DAYS=0).test_client().get("/privacy")
    assert "kept for as long as the service runs" in words(page)


def test_every_footer_links_the_pages_signed_in_or_not(client, make_user, login):
    assert all(link in client.get("/auth/login").text for link in FOOTER_LINKS)
    make_user("ann.trainee@nhs.net")
    login(client, "ann.trainee@nhs.net")
    signed_in = client.get("/cycles", follow_redirects=True)
    assert signed_in.status_code == 200
    assert all(link in signed_in.text for link in FOOTER_LINKS)
    assert all(client.get(path).status_code == 200 for path in PAGES)


def test_the_survey_welcome_page_links_the_privacy_notice(app, smtp, make_user, client):
    trainee = make_user("alex.trainee@nhs.net", name="Alex Trainee")
    launched = launch_cycle(app, smtp, trainee)
    welcome = open_link(client, launched.links["pat.peer@nhs.net"])
    assert welcome.status_code == 200
    assert all(link in welcome.text for link in FOOTER_LINKS)
    assert '<a href="/privacy">privacy notice</a>' in welcome.text
    assert ("Our privacy notice explains how Tamar Valley NHS Foundation Trust uses your name"
            in words(welcome))


@pytest.mark.parametrize(("setting", "value"), [
    ("ORGANISATION_NAME", ""), ("ORGANISATION_NAME", "   "), ("ORGANISATION_NAME", "Trust\x00"),
    ("ORGANISATION_NAME", "x" * 201), ("DATA_PROTECTION_CONTACT", "dpo"),
    ("DATA_PROTECTION_CONTACT", "dpo@"), ("CONTACT_EMAIL", "two words@nhs.net"),
    ("CONTACT_EMAIL", None),
])
def test_a_bad_organisation_or_address_stops_the_app_starting(tmp_path, setting, value):
    with pytest.raises(ConfigurationError, match=setting):
        load(str(tmp_path), {"FEEDBACK360_ENV": "testing", setting: value})


def test_the_settings_come_from_the_environment_and_are_tidied(tmp_path, monkeypatch):
    monkeypatch.setenv("ORGANISATION_NAME", "  Tamar  Valley NHS Foundation Trust ")
    monkeypatch.setenv("DATA_PROTECTION_CONTACT", " dpo@tamarvalley.nhs.uk ")
    monkeypatch.setenv("CONTACT_EMAIL", "feedback@tamarvalley.nhs.uk")
    settings = load(str(tmp_path), {"FEEDBACK360_ENV": "testing"})
    assert settings["ORGANISATION_NAME"] == "Tamar Valley NHS Foundation Trust"
    assert settings["DATA_PROTECTION_CONTACT"] == "dpo@tamarvalley.nhs.uk"
    assert settings["CONTACT_EMAIL"] == "feedback@tamarvalley.nhs.uk"
