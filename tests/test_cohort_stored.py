"""A cohort's analysis as stored bytes (feedback360.scoring.cohort.stored) gives back exactly
the reports the original gave, for any cohort: property-tested with the cohorts the disclosure
tests draw (attributes not recorded, launches, cycles without scores, empty cohorts)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cohort_scoring import INSTRUMENT, analyse, frames, people_strategy, selections

from feedback360.scoring.cohort import stored

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent


def restored(made):  # type: ignore[no-untyped-def]
    return stored.loads(stored.dumps(made), INSTRUMENT, made.min_trainees, made.threshold)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=people_strategy, seed=st.integers(0, 2**16), m=st.sampled_from([2, 3, 5]))
def test_a_restored_analysis_reports_exactly_as_the_original(people, seed, m):
    made = analyse(frames(people, seed), m)
    again = restored(made)
    assert again.admitted == made.admitted
    for selection in selections():
        assert again.report(selection) == made.report(selection), selection
        assert again.scored_cycle_ids(selection) == made.scored_cycle_ids(selection)


def test_the_stored_form_is_plain_data():
    """No pickled object anywhere: every array is numeric, boolean or bytes of JSON."""
    import io

    made = analyse(frames([("A", 1, "X"), (None, None, None)] * 6, seed=3), 2)
    with np.load(io.BytesIO(stored.dumps(made)), allow_pickle=False) as arrays:
        kinds = {arrays[name].dtype.kind for name in arrays.files}
    assert kinds <= set("biuf")


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"x" + b[1:],
                                    lambda b: b.replace(b"meta", b"mota")])
def test_damaged_bytes_are_refused_with_one_exception(damage):
    made = analyse(frames([("A", 1, "X")] * 6, seed=1), 2)
    with pytest.raises(stored.UnreadableAnalysis):
        stored.loads(damage(stored.dumps(made)), INSTRUMENT, 2, 1.0)
