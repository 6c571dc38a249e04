"""The launch confirmation (issue 12, point 8) names the trainees it launches for and warns,
naming them, about those without an active coach: nobody could release their reports.
"""

from __future__ import annotations

import re

import pytest
from test_cohort_launch import admin, cohort, fill_in, lead  # noqa: F401
from test_trainee_cycles import text_of

from feedback360.extensions import db
from feedback360.models import CoachAssignment


def listed(page, list_id: str) -> list[str]:
    items = re.search(rf'<ul[^>]*id="{list_id}"[^>]*>(.*?)</ul>', page.text, re.S).group(1)
    return [text_of(item) for item in re.findall(r"<li>(.*?)</li>", items, re.S)]


@pytest.fixture
def coached_cohort(app, cohort, make_user):  # noqa: F811
    """Ann coached; Bob's only coach deactivated; Cy with no coach and never activated."""
    coach = make_user("coach@nhs.net", role="coach", name="Carla Coach")
    gone = make_user("gone@nhs.net", role="coach", name="Gone Coach", active=False)
    ann = make_user("ann@nhs.net", name="Ann Coached", cohort=cohort)
    bob = make_user("bob@nhs.net", name="Bob Orphaned", cohort=cohort)
    make_user("cy@nhs.net", name="Cy Nobody", cohort=cohort, password=None)
    with app.app_context():
        db.session.add_all([CoachAssignment(coach_id=coach.id, trainee_id=ann.id),
                            CoachAssignment(coach_id=gone.id, trainee_id=bob.id)])
        db.session.commit()
    return cohort


def test_the_confirmation_names_each_trainee_and_who_has_no_coach(lead, coached_cohort):  # noqa: F811
    page = fill_in(lead, coached_cohort.id)
    assert page.status_code == 200, text_of(page)
    assert listed(page, "launch-for") == [
        "Ann Coached", "Bob Orphaned", "Cy Nobody (account not activated yet)"]
    warning = text_of(re.search(r'<div[^>]*id="no-coach".*?</div>\s*</div>', page.text,
                                re.S).group(0))
    assert "2 trainees have no coach" in warning
    assert "nobody could release the reports of: Bob Orphaned, Cy Nobody." in warning
    assert f'href="/admin/cohorts/{coached_cohort.id}"' in page.text


def test_no_warning_when_every_trainee_has_a_coach(app, lead, cohort, make_user):  # noqa: F811
    coach = make_user("coach@nhs.net", role="coach")
    trainee = make_user("ann@nhs.net", name="Ann Coached", cohort=cohort)
    with app.app_context():
        db.session.add(CoachAssignment(coach_id=coach.id, trainee_id=trainee.id))
        db.session.commit()
    page = fill_in(lead, cohort.id)
    assert listed(page, "launch-for") == ["Ann Coached"]
    assert 'id="no-coach"' not in page.text and "has no coach" not in text_of(page)
