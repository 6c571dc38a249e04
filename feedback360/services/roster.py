"""The CSV import of users: parse, validate against the database, then apply.

Rules a programme lead can rely on (the import page repeats them):

* a header row is required; its names ignore case, spaces, ``_`` and ``-``, so ``Training year``
  and ``training_year`` are the same column. ``name``, ``email`` and ``role`` are required;
  ``cohort``, ``specialty``, ``training year`` and ``site`` are optional columns. UTF-8, with or
  without a byte-order mark.
* people are matched by case-folded email. A new email becomes an invited account (the
  activation email is sent); a known one is updated (name, cohort, specialty, training year,
  site) and never duplicated, and gets no email. A column left out of the file leaves that field
  alone; an empty cell in a column that is there clears it.
* a cohort must already exist and not be archived: a misspelt name would otherwise quietly make
  a new cohort. Roles are never changed by an import.
* every bad row is reported with its line number and every reason; the good rows are imported
  only when the person confirms after seeing them, and the bad rows are skipped (listed again).
"""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import dataclass, field, replace

from .. import audit
from ..extensions import db
from ..models import Cohort, User
from ..role_names import role_name
from ..text_input import control_character, refusal
from . import DomainError, accounts

COLUMNS = ("name", "email", "role", "cohort", "specialty", "training_year", "site")
REQUIRED_COLUMNS = ("name", "email", "role")
UPDATABLE = ("name", "cohort", "specialty", "training_year", "site")
HEADER_ALIASES = {"name": "name", "full name": "name", "email": "email",
                  "email address": "email", "role": "role", "cohort": "cohort",
                  "specialty": "specialty", "training year": "training_year", "site": "site"}
ROLE_NAMES = {"trainee": "trainee", "coach": "coach", "admin": "admin",
              "programme lead": "admin"}
TEXT_MAX_LENGTH = 120  # name, specialty and site columns of users
TRAINING_YEARS = range(1, 11)
PREVIEW_MAX_AGE = 3600  # seconds a dry run's confirm button stays valid


class RosterFileError(DomainError):
    """The file as a whole cannot be read (encoding, header, no rows): nothing is planned."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


@dataclass(frozen=True)
class RosterRow:
    line: int
    values: dict[str, str]  # column -> cell, stripped; only the file's columns


@dataclass(frozen=True)
class RowProblem:
    line: int
    email: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PlannedUser:
    line: int
    email: str
    name: str
    role: str
    cohort: Cohort | None
    specialty: str | None
    training_year: int | None
    site: str | None
    user: User | None  # the existing account, if any
    changes: tuple[str, ...] = ()  # fields an update would change

    @property
    def kind(self) -> str:
        if self.user is None:
            return "create"
        return "update" if self.changes else "unchanged"


@dataclass
class ImportPlan:
    columns: tuple[str, ...]
    creates: list[PlannedUser] = field(default_factory=list)
    updates: list[PlannedUser] = field(default_factory=list)
    unchanged: list[PlannedUser] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def has_work(self) -> bool:
        return bool(self.creates or self.updates)

    def counts(self) -> dict[str, int]:
        return {"created": len(self.creates), "updated": len(self.updates),
                "unchanged": len(self.unchanged), "skipped": len(self.problems)}


def upload_limit(max_content_length: int) -> int:
    """Largest file accepted: half the request limit, so the confirm step, which posts the
    signed file back, always fits in a request too."""
    return max_content_length // 2


# --- Reading the file ----------------------------------------------------------------------------

def _column_name(header: str) -> str:
    words = header.replace("_", " ").replace("-", " ").split()
    return " ".join(words).lower()


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError("The file is not UTF-8 text. In your spreadsheet choose "
                              "'CSV UTF-8' when you save it") from exc


def parse(text: str) -> tuple[tuple[str, ...], list[RosterRow]]:
    """The file's columns (in ``COLUMNS`` names) and its non-blank rows with their line numbers."""
    # strict: a stray quote means a garbled file, better refused than half-read
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    header: tuple[str, ...] | None = None
    rows: list[RosterRow] = []
    line = 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = _read_header(record, start)
                continue
            rows.append(_row(record, header, start))
    except csv.Error as exc:
        raise RosterFileError(f"Line {reader.line_num}: the file is not valid CSV ({exc})") \
            from exc
    if header is None:
        raise RosterFileError("The file is empty. The first line must be the header row")
    if not rows:
        raise RosterFileError("The file has a header row but no people in it")
    return header, rows


def _read_header(record: list[str], line: int) -> tuple[str, ...]:
    columns: list[str] = []
    for cell in record:
        name = HEADER_ALIASES.get(_column_name(cell))
        if name is None:
            raise RosterFileError(
                f"Line {line}: unknown column '{cell.strip()}'. The columns are name, email, "
                "role, cohort, specialty, training year and site")
        if name in columns:
            raise RosterFileError(f"Line {line}: the column '{cell.strip()}' appears twice")
        columns.append(name)
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise RosterFileError(f"Line {line}: the header row needs the column"
                              f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    return tuple(columns)


def _row(record: list[str], header: tuple[str, ...], line: int) -> RosterRow:
    cells = [cell.strip() for cell in record]
    values = dict(zip(header, cells, strict=False))
    for column in header[len(cells):]:
        values[column] = ""
    extra = [cell for cell in cells[len(header):] if cell]
    if extra:
        values["_extra"] = str(len(cells))
    return RosterRow(line=line, values=values)


# --- Checking each row against the rules and the database ----------------------------------------

def plan(text: str) -> ImportPlan:
    """What importing ``text`` would do; writes nothing."""
    columns, rows = parse(text)
    result = ImportPlan(columns=columns)
    cohorts = {cohort.name.strip().lower(): cohort
               for cohort in db.session.scalars(db.select(Cohort))}
    emails = set()
    for row in rows:
        with contextlib.suppress(DomainError):  # a bad address is reported with its line below
            emails.add(accounts.normalise_email(row.values["email"]))
    existing = {user.email: user for user in db.session.scalars(
        db.select(User).where(User.email.in_(emails)))} if emails else {}
    first_line: dict[str, int] = {}
    for row in rows:
        reasons: list[str] = []
        planned = _check(row, columns, cohorts, existing, first_line, reasons)
        if reasons or planned is None:
            result.problems.append(RowProblem(row.line, row.values["email"], tuple(reasons)))
        else:
            {"create": result.creates, "update": result.updates,
             "unchanged": result.unchanged}[planned.kind].append(planned)
    return result


def _check(row: RosterRow, columns: tuple[str, ...], cohorts: dict[str, Cohort],
           existing: dict[str, User], first_line: dict[str, int],
           reasons: list[str]) -> PlannedUser | None:
    values = row.values
    if "_extra" in values:
        reasons.append(f"The row has {values['_extra']} values but the header has "
                       f"{len(columns)} columns")
    name = " ".join(values["name"].split())
    if (character := control_character(name, multi_line=False)) is not None:
        reasons.append(refusal("The name", character))
    elif not name:
        reasons.append("The name is missing")
    elif len(name) > TEXT_MAX_LENGTH:
        reasons.append(f"The name is longer than {TEXT_MAX_LENGTH} characters")
    email = ""
    if not values["email"]:
        reasons.append("The email address is missing")
    else:
        try:
            email = accounts.normalise_email(values["email"])
        except DomainError:
            reasons.append(f"'{values['email']}' is not a valid email address")
        else:
            if email in first_line:
                reasons.append(f"{email} is already on line {first_line[email]}")
            else:
                first_line[email] = row.line
    role = ROLE_NAMES.get(_column_name(values["role"]))
    if role is None:
        reasons.append(f"Unknown role '{values['role']}' (use trainee, coach or admin)"
                       if values["role"] else "The role is missing (trainee, coach or admin)")
    user = existing.get(email)
    if user is not None and role is not None and role != user.role:
        held = role_name(user.role).lower()
        reasons.append(f"{email} already has {_article(held)} {held} account; an "
                       "import never changes a role")
    cohort = _cohort(values.get("cohort", ""), role, cohorts, reasons)
    training_year = _training_year(values.get("training_year", ""), reasons)
    specialty = _text(values.get("specialty", ""), "specialty", reasons)
    site = _text(values.get("site", ""), "site", reasons)
    if reasons or role is None:
        return None
    planned = PlannedUser(line=row.line, email=email, name=name, role=role, cohort=cohort,
                          specialty=specialty, training_year=training_year, site=site,
                          user=user)
    if user is None:
        return planned
    current = {"name": user.name, "cohort": user.cohort_id, "specialty": user.specialty,
               "training_year": user.training_year, "site": user.site}
    wanted = {"name": name, "cohort": cohort.id if cohort else None, "specialty": specialty,
              "training_year": training_year, "site": site}
    changes = tuple(column for column in UPDATABLE
                    if column in columns and current[column] != wanted[column])
    return replace(planned, changes=changes)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _cohort(raw: str, role: str | None, cohorts: dict[str, Cohort],
            reasons: list[str]) -> Cohort | None:
    if not raw:
        return None
    if role is not None and role != "trainee":
        reasons.append(f"Only trainees belong to a cohort, not {_article(role)} {role}")
        return None
    cohort = cohorts.get(" ".join(raw.split()).lower())
    if cohort is None:
        reasons.append(f"There is no cohort called '{raw}' (create it first)")
    elif cohort.archived:
        reasons.append(f"The cohort {cohort.name} is archived")
    return cohort


def _training_year(raw: str, reasons: list[str]) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or int(raw) not in TRAINING_YEARS:
        reasons.append(f"Training year '{raw}' is not a whole number from "
                       f"{TRAINING_YEARS.start} to {TRAINING_YEARS.stop - 1}")
        return None
    return int(raw)


def _text(raw: str, label: str, reasons: list[str]) -> str | None:
    value = " ".join(raw.split()) or None
    if value and (character := control_character(value, multi_line=False)) is not None:
        reasons.append(refusal(f"The {label}", character))
    elif value and len(value) > TEXT_MAX_LENGTH:
        reasons.append(f"The {label} is longer than {TEXT_MAX_LENGTH} characters")
    return value


# --- Applying ------------------------------------------------------------------------------------

def apply(planned: ImportPlan, *, by: User | None) -> dict[str, int]:
    """Create and update the good rows of ``planned`` (skipping the bad); returns the counts.

    Each person created or updated is an audit event of their own (``user.invited`` and
    ``user.updated``, marked ``source="import"``), the updates with each changed field as
    ``[before, after]`` in the shape an admin's edit records; then one event for the import."""
    accounts.invite_checked([
        accounts.Invitee(email=row.email, name=row.name, role=row.role, cohort=row.cohort,
                         specialty=row.specialty, training_year=row.training_year, site=row.site)
        for row in planned.creates], invited_by=by, source="import")
    for row in planned.updates:
        user = row.user
        assert user is not None
        changes = {}
        for column in row.changes:
            key = "cohort_id" if column == "cohort" else column
            before = getattr(user, key)
            if column == "cohort":
                user.cohort = row.cohort
                after = row.cohort.id if row.cohort else None
            else:
                after = getattr(row, column)
                setattr(user, column, after)
            changes[key] = [before, after]
        audit.record(by, "user.updated", f"user:{user.id}", source="import", changes=changes)
    db.session.flush()
    counts = planned.counts()
    audit.record(by, "users.imported", None, **counts)
    return counts
