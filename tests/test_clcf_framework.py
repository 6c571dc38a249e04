"""The CLCF framework the portfolio names elements by: five domains of four, checked keys."""

from __future__ import annotations

import pytest

from feedback360.services import DomainError
from feedback360.services.clcf_framework import checked_elements, domains, element_choices


def test_five_domains_of_four_elements(app):
    with app.app_context():
        found = domains()
        assert len(found) == 5
        assert all(len(domain.elements) == 4 for domain in found)
        assert [title for title, _ in element_choices()] == [d.title for d in found]


def test_checked_elements_keeps_framework_order_and_drops_duplicates(app):
    with app.app_context():
        keys = [e.key for d in domains() for e in d.elements]
        chosen = checked_elements([keys[7], keys[2], keys[7]])
        assert [e.key for e in chosen] == [keys[2], keys[7]]
        assert chosen[0].domain_key == domains()[0].key


@pytest.mark.parametrize(("keys", "message"), [
    (["no-such-element"], "Select leadership elements from the list"),
    ([], "Select at least one leadership element"),
])
def test_checked_elements_refuses(app, keys, message):
    with app.app_context(), pytest.raises(DomainError, match=message) as refused:
        checked_elements(keys, field="focus")
    assert refused.value.field == "focus"
