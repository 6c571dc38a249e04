"""CSV exports are safe whatever list separator the spreadsheet uses (issue 9, point 5): a
specialty such as ``Genomics;=cmd|' /C calc'!A0`` must not become a formula cell in a locale
whose separator is ``;`` (nor ``,`` or tab). Each file is parsed as such a spreadsheet would,
splitting on each separator in turn, and no cell may start a formula unless it is a number."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from test_cohort_report_views import cohort, download, lead  # noqa: F401  (fixtures)

from feedback360.exports import to_csv
from feedback360.extensions import db
from feedback360.models import FeedbackCycle, User

ATTACK = "=cmd|' /C calc'!A0"
PAYLOADS = [f"Genomics{separator}{ATTACK}" for separator in (";", ",", "\t")] + [
    f'Genomics;"{ATTACK}', f"Genomics\r\n{ATTACK}", "Genomics;;-2+3", "Genomics,@SUM(A1)"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cells(data: bytes, separator: str) -> list[str]:
    text = data.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator)
            for cell in row]


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_no_formula(data: bytes) -> None:
    for separator in (";", ",", "\t"):
        for cell in cells(data, separator):
            assert is_number(cell) or not cell.startswith(TRIGGERS), (separator, cell)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_is_quoted_and_no_separator_starts_a_formula(payload):
    frame = pd.DataFrame({"Specialty": [payload, "Audiology"], "Trainees": [6, 5],
                          "Gap": [-0.25, 1.5]})
    data = to_csv(frame)
    assert_no_formula(data)
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == '"Specialty","Trainees","Gap"'
    assert lines[-2] == '"Audiology",5,1.5'  # numbers stay numbers
    read = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert read["Gap"].tolist() == [-0.25, 1.5]
    assert read["Specialty"][0].startswith("Genomics")


@pytest.mark.parametrize("payload", PAYLOADS[:3])
def test_a_specialty_named_to_attack_is_harmless_in_the_downloads(app, lead, cohort,  # noqa: F811
                                                                   payload):
    """The cohort's Medical Physics trainees (6, a shown cell) renamed to the payload."""
    with app.app_context():
        for user in db.session.scalars(db.select(User).where(
                User.specialty == "Medical Physics")):
            user.specialty = payload
        for cycle in db.session.scalars(db.select(FeedbackCycle).where(
                FeedbackCycle.specialty_at_close == "Medical Physics")):
            cycle.specialty_at_close = payload
        db.session.commit()
    for file, filters in (("aggregates", {}), ("items", {"launch": cohort["launch_id"]})):
        response = download(lead, cohort["id"], file, "csv", **filters)
        assert response.status_code == 200
        assert_no_formula(response.data)
        if file == "aggregates":  # the specialty is there, as a breakdown's row
            assert "cmd|' /C calc'!A0" in response.data.decode("utf-8-sig")
