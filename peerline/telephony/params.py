"""Whole numbers in webhook fields and query strings, checked before they reach the database.

Every integer parsed from a request goes through :func:`db_int`: plain ASCII digits
only (no sign, spaces, exponent or other scripts' digits) and within PostgreSQL's
``integer`` (32-bit), so an odd value is bad input (a 400), never a database error.
"""

from __future__ import annotations

import re

#: The largest value of a PostgreSQL ``integer`` column.
DB_INT_MAX = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


class BadNumber(ValueError):
    """A request field that should be a whole number is not one the line can store."""


def db_int(raw: str | None, name: str) -> int | None:
    """``raw`` as an int from 0 to :data:`DB_INT_MAX`; None when absent or empty.

    Raises :class:`BadNumber` (naming the field) for anything else.
    """
    if raw is None or raw == "":
        return None
    if _DIGITS.fullmatch(raw) is None or int(raw) > DB_INT_MAX:
        raise BadNumber(f"{name} must be a whole number from 0 to {DB_INT_MAX}")
    return int(raw)


def db_int_or_none(raw: str | None) -> int | None:
    """Like :func:`db_int`, for optional details: anything odd is simply ignored."""
    try:
        return db_int(raw, "value")
    except BadNumber:
        return None
