"""The generic breakdown audit (scoring/breakdowns.py): each attack on a breakdown of trainees
by site, specialty or period must fail."""

from __future__ import annotations

import pandas as pd
import pytest

from feedback360.scoring.breakdowns import ANY, NOT_RECORDED, admitted_cells, cell_rows

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

K = 5


def contributions(sites: dict[str, int], *, specialty: str | None = None) -> pd.DataFrame:
    rows, trainee = [], 0
    for site, count in sites.items():
        for _ in range(count):
            trainee += 1
            rows.append({"trainee_id": trainee, "site": site, "specialty": specialty,
                         "in_0": True})
    return pd.DataFrame(rows)


def test_sites_large_enough_are_shown_with_the_total():
    frame = contributions({"City": 6, "Riverside": 7})
    assert admitted_cells(frame, dimensions=["site"], choices=1, min_trainees=K) == {
        (0, (ANY,)), (0, ("City",)), (0, ("Riverside",))}


def test_a_small_site_is_not_recoverable_as_the_total_less_the_others():
    """Nine at one site and three at another: showing the nine beside the total of twelve
    would give the three away, so only the total shows."""
    frame = contributions({"City": 9, "Riverside": 3})
    assert admitted_cells(frame, dimensions=["site"], choices=1, min_trainees=K) == {
        (0, (ANY,))}


def test_two_selections_differing_by_one_trainee_are_not_both_shown():
    """A lead filtering once with and once without one trainee learns that trainee's figures
    by subtraction: the second selection is refused."""
    frame = contributions({"City": 8})
    frame["in_1"] = frame["trainee_id"] != 8
    admitted = admitted_cells(frame, dimensions=["site"], choices=2, min_trainees=K)
    assert (0, (ANY,)) in admitted
    assert not {cell for cell in admitted if cell[0] == 1}


def test_cells_crossing_two_dimensions_keep_their_remainders_hidden():
    frame = pd.concat([contributions({"City": 6, "Riverside": 6}, specialty="Cardiology"),
                       contributions({"City": 2}, specialty="Genomics")], ignore_index=True)
    frame["trainee_id"] = range(1, len(frame) + 1)
    admitted = admitted_cells(frame, dimensions=["site", "specialty"], choices=1,
                              min_trainees=K)
    assert (0, (ANY, "Genomics")) not in admitted
    shown = {cell: int(cell_rows(frame, cell, ["site", "specialty"]).sum()) for cell in admitted}
    # whatever is shown, no two shown cells nested in one another differ by 1..K-1 trainees
    for outer, outer_n in shown.items():
        for inner, inner_n in shown.items():
            nested = all(o is ANY or o == i for o, i in zip(outer[1], inner[1], strict=True))
            if outer != inner and nested:
                assert not 0 < outer_n - inner_n < K, (outer, inner)


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_a_missing_value_is_its_own_category(missing):
    frame = contributions({"City": 6})
    extra = contributions({"x": 6})
    extra["trainee_id"] += 6
    extra["site"] = missing
    frame = pd.concat([frame, extra], ignore_index=True)
    admitted = admitted_cells(frame, dimensions=["site"], choices=1, min_trainees=K)
    assert (0, (NOT_RECORDED,)) in admitted
    assert int(cell_rows(frame, (0, (NOT_RECORDED,)), ["site"]).sum()) == 6


def test_nothing_to_show_for_no_rows():
    frame = pd.DataFrame(columns=["trainee_id", "site", "in_0"])
    assert admitted_cells(frame, dimensions=["site"], choices=1, min_trainees=K) == set()
