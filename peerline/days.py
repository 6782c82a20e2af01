"""Dates people type (dashboard filters, the schedule's forms and CLI): ``YYYY-MM-DD`` in
the years 1900-2999, so that date arithmetic (a week on, a day on) and the database
never overflow on a date such as ``9999-12-31``."""

from __future__ import annotations

from datetime import date

FIRST = date(1900, 1, 1)
LAST = date(2999, 12, 31)


def parse_day(raw: str) -> date:
    """``raw`` as a date from :data:`FIRST` to :data:`LAST`; ``ValueError`` (with a
    message fit to show) for anything else."""
    text = raw.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text[:20]!r} is not a date (YYYY-MM-DD)") from None
    if not FIRST <= day <= LAST:
        raise ValueError(f"a date must be in the years {FIRST.year}-{LAST.year}")
    return day
