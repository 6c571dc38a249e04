"""Canonical addresses (issue 9, point 3): every spelling of one mailbox compares equal, and
``RATER_EMAIL_DOMAINS`` is checked when the app starts."""

from __future__ import annotations

import pytest

from feedback360 import create_app
from feedback360.config import ConfigurationError
from feedback360.email_identity import (
    DomainRule,
    InvalidAddress,
    allowed,
    canonical,
    describe_rules,
    parse_domain_rules,
)


@pytest.mark.parametrize(("typed", "expected"), [
    ("sam.patel@nhs.net", "sam.patel@nhs.net"),
    ("Sam.Patel@NHS.net", "sam.patel@nhs.net"),
    ("  sam.patel@nhs.net ", "sam.patel@nhs.net"),
    ("sam.patel+360@nhs.net", "sam.patel@nhs.net"),
    ("SAM.PATEL+a+b@nhs.net", "sam.patel@nhs.net"),
    # NHSmail keeps dots: s.patel and sp.atel are different people there.
    ("s.a.m.patel@nhs.net", "s.a.m.patel@nhs.net"),
    ("Sam.Patel@gmail.com", "sampatel@gmail.com"),
    ("s.a.m.p.a.t.e.l+feedback@GoogleMail.com", "sampatel@gmail.com"),
    ("sampatel@googlemail.com", "sampatel@gmail.com"),
    # Unicode: case-folded (ß is ss), the domain in its IDNA form.
    ("STRASSE@example.nhs.uk", "strasse@example.nhs.uk"),
    ("straße@example.nhs.uk", "strasse@example.nhs.uk"),
    ("jürgen@bücher.example", "jürgen@xn--bcher-kva.example"),
    ("jürgen@xn--bcher-kva.example", "jürgen@xn--bcher-kva.example"),
])
def test_every_spelling_of_a_mailbox_has_one_canonical_form(typed, expected):
    assert canonical(typed) == expected


@pytest.mark.parametrize("typed", ["", "not-an-email", "a@b", "two@@nhs.net", "a@.nhs.net"])
def test_what_is_not_an_address_is_refused(typed):
    with pytest.raises(InvalidAddress):
        canonical(typed)


@pytest.mark.parametrize(("patterns", "rules"), [
    ("", ()),
    (" , ", ()),
    ("nhs.net", (DomainRule("nhs.net", False),)),
    ("NHS.net, *.nhs.uk", (DomainRule("nhs.net", False), DomainRule("nhs.uk", True))),
    (["nhs.net", "nhs.net"], (DomainRule("nhs.net", False),)),
    ("*.bücher.example", (DomainRule("xn--bcher-kva.example", True),)),
])
def test_domain_patterns_are_parsed(patterns, rules):
    assert parse_domain_rules(patterns) == rules


@pytest.mark.parametrize("pattern", ["*", "*.uk", "nhs", "a*.nhs.uk", "x.*.nhs.uk", "nhs..net",
                                     "*.", "@nhs.net", "nhs.net/x"])
def test_a_bad_domain_pattern_is_refused(pattern):
    with pytest.raises(ValueError, match="is not a domain pattern"):
        parse_domain_rules(f"nhs.net, {pattern}")


@pytest.mark.parametrize(("address", "ok"), [
    ("sam@nhs.net", True),
    ("sam@uhb.nhs.uk", True),
    ("sam@wards.uhb.nhs.uk", True),
    ("sam@nhs.uk", False),  # *.nhs.uk is its subdomains only
    ("sam@gmail.com", False),
    ("sam@evilnhs.net", False),
    ("sam@nhs.net.example.com", False),
    ("sam@fakenhs.uk", False),
])
def test_addresses_are_allowed_only_in_the_listed_domains(address, ok):
    rules = parse_domain_rules("nhs.net, *.nhs.uk")
    assert allowed(canonical(address), rules) is ok
    assert allowed(canonical(address), ()) is True
    assert describe_rules(rules) == "@nhs.net or an address ending .nhs.uk"


def test_the_app_refuses_to_start_with_a_bad_domain_list(tmp_path, monkeypatch):
    monkeypatch.setenv("RATER_EMAIL_DOMAINS", "nhs.net, *.uk")
    with pytest.raises(ConfigurationError, match=r"RATER_EMAIL_DOMAINS: '\*\.uk' is not"):
        create_app({"FEEDBACK360_ENV": "testing", "SECRET_KEY": "test",
                    "INSTANCE_PATH": str(tmp_path),
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})


def test_the_domain_list_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RATER_EMAIL_DOMAINS", "nhs.net,*.nhs.uk")
    app = create_app({"FEEDBACK360_ENV": "testing", "SECRET_KEY": "test",
                      "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert app.config["RATER_EMAIL_DOMAINS"] == parse_domain_rules("nhs.net, *.nhs.uk")
