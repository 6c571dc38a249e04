"""'My trainees' while a cycle is open: how many colleagues answered against the rule's minimum,
worded for both sides of it ("11 of 10" read as a mistake in the demo)."""

from __future__ import annotations

import pytest
from test_reports import as_coach, build_cycle, coach, text_of, trainee  # noqa: F401 (fixtures)


@pytest.mark.parametrize(("answered", "shown"), [
    (4, "4 of 10 colleagues answered"),
    (10, "10 colleagues answered (10 needed)"),
    (11, "11 colleagues answered (10 needed)"),
])
def test_open_cycle_progress_wording(app, as_coach, trainee, answered, shown):  # noqa: F811
    build_cycle(app, trainee.id, raters=["peer"] * answered, close=False)
    text = text_of(as_coach.get("/coach/trainees"))
    assert shown in text
