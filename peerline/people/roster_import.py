"""Roster CSV import (dashboard or CLI): every row is checked before anything is added,
then all rows go in together, or none do.

The file has a header naming the columns ``name, phone, languages, capacity`` (any
order). Errors name the data row and the file's line; a number in an error is masked to
its last 4 digits.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Volunteer
from peerline.people import roster
from peerline.people.phones import InvalidNumber, normalise
from peerline.people.roster import RosterError
from peerline.staff import audit

COLUMNS = ("name", "phone", "languages", "capacity")
#: More rows than a line's roster could hold is a wrong file.
MAX_ROWS = 1000
MAX_NAME = 120


@dataclass(frozen=True)
class RowError:
    """What is wrong with one data row (``row`` counts data rows from 1; ``line`` is the
    file's line, the header being line 1). Row 0 is the file as a whole."""

    row: int
    line: int
    message: str

    def __str__(self) -> str:
        if self.row == 0:
            return self.message
        return f"row {self.row} (line {self.line}): {self.message}"


class ImportRejected(RosterError):
    """The file was refused; nothing was added. ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing imported")
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    """The volunteers added, in file order."""

    volunteer_ids: list[int]

    @property
    def added(self) -> int:
        """How many volunteers were added."""
        return len(self.volunteer_ids)


@dataclass(frozen=True)
class _Row:
    row: int
    line: int
    name: str
    number: str
    languages: str
    capacity: int


def mask_raw(raw: str) -> str:
    """Any text typed as a phone, masked to its last 4 digits (``•••• 0001``)."""
    digits = re.sub(r"\D", "", raw or "")
    return "•••• " + digits[-4:] if digits else "(blank)"


def decode(data: bytes) -> str:
    """An uploaded file's bytes as text (UTF-8, a byte-order mark allowed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([RowError(0, 0, "the file is not UTF-8 text (save it as CSV "
                                             "UTF-8)")]) from None


def _header(fields: list[str]) -> dict[str, int] | str:
    """Column positions from the header, or what is wrong with it."""
    names = [f.strip().lower().lstrip("\ufeff") for f in fields]
    missing = [c for c in COLUMNS if c not in names]
    unknown = [n for n in names if n and n not in COLUMNS]
    if missing or unknown or len(set(names)) != len(names):
        return (f"the first line must be the header {','.join(COLUMNS)}"
                + (f" (missing: {', '.join(missing)})" if missing else "")
                + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return {name: names.index(name) for name in COLUMNS}


def _check_row(line: Line, fields: list[str], cols: dict[str, int],
               row: int, at: int) -> tuple[_Row | None, list[RowError]]:
    """One data row: the values, or its errors (every problem, not just the first)."""
    if len(fields) != len(cols):
        return None, [RowError(row, at, f"expected {len(cols)} columns, found {len(fields)}")]
    value = {name: fields[index].strip() for name, index in cols.items()}
    errors: list[str] = []
    name = value["name"]
    if not name:
        errors.append("a name is needed")
    elif len(name) > MAX_NAME:
        errors.append(f"the name is longer than {MAX_NAME} characters")
    number = ""
    try:
        number = normalise(value["phone"])
        if number in line.numbers:
            errors.append(f"phone {mask_raw(number)} is one of the line's own numbers")
            number = ""
    except InvalidNumber:
        errors.append(f"phone {mask_raw(value['phone'])} is not a possible phone number")
    languages = ""
    try:
        languages = roster.parse_languages(re.sub(r"[;\s]+", ",", value["languages"]))
    except RosterError as exc:
        errors.append(str(exc))
    capacity = 0
    if re.fullmatch(r"\d{1,2}", value["capacity"]) and 1 <= int(value["capacity"]) <= 10:
        capacity = int(value["capacity"])
    else:
        errors.append("capacity must be a whole number from 1 to 10")
    if errors:
        return (_Row(row, at, name, number, languages, capacity) if number else None,
                [RowError(row, at, message) for message in errors])
    return _Row(row, at, name, number, languages, capacity), []


def check(session: Session, line: Line, text: str) -> tuple[list[_Row], list[RowError]]:
    """Every row checked: the rows to add and every error (no changes made)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    cols: dict[str, int] | None = None
    rows: list[_Row] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}  # number -> the row that had it first
    last_line = 0
    row = 0
    try:
        for fields in reader:
            at, last_line = last_line + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue  # blank lines are allowed anywhere
            if cols is None:
                header = _header(fields)
                if isinstance(header, str):
                    return [], [RowError(0, at, f"line {at}: {header}")]
                cols = header
                continue
            row += 1
            if row > MAX_ROWS:
                return [], [RowError(0, at, f"at most {MAX_ROWS} volunteers in one file")]
            checked, row_errors = _check_row(line, fields, cols, row, at)
            if checked is not None and checked.number:
                first = seen.setdefault(checked.number, row)
                if first != row:
                    row_errors.append(RowError(row, at, f"phone {mask_raw(checked.number)} "
                                                         f"is also in row {first}"))
            errors.extend(row_errors)
            if checked is not None and not row_errors:
                rows.append(checked)
    except csv.Error as exc:
        return [], [RowError(0, last_line + 1, f"line {last_line + 1}: not valid CSV ({exc})")]
    if cols is None:
        return [], [RowError(0, 0, "the file is empty (a header line "
                                   f"{','.join(COLUMNS)} is needed)")]
    taken = _on_roster(session, line, list(seen))
    for item in rows:
        if item.number in taken:
            errors.append(RowError(item.row, item.line, f"phone {mask_raw(item.number)} "
                                                        "is already on the roster"))
    errors.sort(key=lambda e: (e.row, e.line))
    if not errors and not rows:
        errors.append(RowError(0, 0, "the file has a header but no volunteers"))
    return rows, errors


def _on_roster(session: Session, line: Line, numbers: list[str]) -> set[str]:
    """Which of ``numbers`` a volunteer (active or not) already has."""
    by_hash = {line.vault.hash(n): n for n in numbers}
    found: set[str] = set()
    keys = list(by_hash)
    for start in range(0, len(keys), 500):
        found.update(by_hash[h] for h in session.scalars(
            select(Volunteer.phone_hash).where(Volunteer.phone_hash.in_(keys[start:start + 500]))))
    return found


def import_csv(session: Session, line: Line, actor: str, text: str) -> ImportResult:
    """Check every row, then add every volunteer in the caller's transaction and write
    one audit row. Raises :class:`ImportRejected` (with every error) and adds nothing if
    any row is wrong; the caller's transaction must then roll back, as ``begin()`` does."""
    rows, errors = check(session, line, text)
    if errors:
        raise ImportRejected(errors)
    ids: list[int] = []
    for item in rows:
        try:
            volunteer = roster.add_volunteer(session, line, item.name, item.number,
                                             item.languages, item.capacity)
        except (RosterError, IntegrityError):  # added by someone else meanwhile
            raise ImportRejected([RowError(item.row, item.line, f"phone "
                                           f"{mask_raw(item.number)} is already on the "
                                           "roster")]) from None
        ids.append(volunteer.id)
    audit.record(session, line, actor, "roster.import", "roster",
                 f"imported {len(ids)} volunteers")
    return ImportResult(ids)
