"""Spreadsheet exports (issue 5, point 4): plain rows in, CSV or XLSX bytes out. Pure: no Flask.

Every text cell that a spreadsheet could read as a formula (one starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return: OWASP's "CSV injection") is prefixed with a single quote, in
CSV and in XLSX alike; numbers stay numbers (a negative number is a number, not a formula).
Names of cohorts, sites and specialties come from administrators' CSV imports, and instrument
wording from YAML files, so none of it is trusted.

A CSV file does not say which list separator it uses: a spreadsheet in a locale whose separator
is ``;`` (or one told to split on tabs) reads this comma-separated file its own way. So every
text field is quoted (numbers are not, so they stay numbers), and inside text every character a
reader might split on (``,``, ``;``, tab, a line break) that is followed by a formula trigger
gets a single quote after it: ``Genomics;=cmd`` is written ``"Genomics;'=cmd"``, which no reader,
whatever it splits on and however it takes the quotes, turns into a cell starting with ``=``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# a character some reader may split a CSV line on, then (past any quotes) a formula trigger
_SPLIT_BEFORE_FORMULA = re.compile(r'([,;\t\r\n])(?="*[=+\-@\t\r])')
SHEET_NAME_LIMIT = 31  # Excel's
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell: text that could start a formula gets a
    leading single quote; anything else is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def printable(text: str) -> str:
    """``text`` without the control characters that XML (so XLSX) cannot hold, and that trip
    CSV readers: a value stored before ``text_input`` refused them must not stop the whole
    export. Tab and line breaks stay."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(printable(value) if isinstance(value, str) else value)


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every cell neutralised (headers too)."""
    safe = frame.astype(object).map(_cell) if len(frame) else frame.astype(object)
    safe.columns = [neutralise(printable(str(c))) for c in frame.columns]
    return safe


def _csv_field(value: Any) -> Any:
    value = _cell(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    return _SPLIT_BEFORE_FORMULA.sub(r"\1'", str(value))


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read accents correctly; text quoted,
    numbers not (``csv.QUOTE_NONNUMERIC``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow([_csv_field(str(column)) for column in frame.columns])
    writer.writerows([_csv_field(v) for v in row]
                     for row in frame.itertuples(index=False, name=None))
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    # Write-only: rows are streamed into the file instead of kept as cell objects, so an
    # item-level file of 236,000 rows takes 8 MB of Python memory rather than 500 (bench/README.md).
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    for name, frame in sheets.items():
        sheet = workbook.create_sheet(_sheet_name(name, used))
        safe = safe_frame(frame)
        sheet.append(list(safe.columns))
        for row in safe.itertuples(index=False):
            sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique, not starting with '."""
    cleaned = "".join(" " if c in "[]:*?/\\" else c
                      for c in printable(name)).strip(" '") or "Sheet"
    candidate, number = cleaned[:SHEET_NAME_LIMIT], 2
    while candidate.casefold() in used:
        suffix = f" ({number})"
        candidate, number = cleaned[:SHEET_NAME_LIMIT - len(suffix)] + suffix, number + 1
    used.add(candidate.casefold())
    return candidate


def records_frame(records: Iterable[Mapping[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(list(records), columns=columns)
