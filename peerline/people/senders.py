"""Who is texting, and who is on shift, in one round trip (the webhook's first question)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, exists, func, literal, select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Survivor, Volunteer
from peerline.models.attach import attached
from peerline.people.roster import SUPPORTED_LANGUAGES, on_shift_count


@dataclass
class Sender:
    """The active volunteer texting (None for anyone else), and volunteers on shift by
    language as the transaction saw them when the text arrived."""

    volunteer: Volunteer | None
    on_shift: dict[str, int] = field(default_factory=dict)
    #: Whether a survivor row with this phone existed (unlocked read: a hint that spares
    #: a new survivor's first text one lookup).
    survivor_known: bool = True

    def on_shift_in(self, session: Session, lang: str) -> int:
        """Volunteers on shift speaking ``lang`` (as ``roster.on_shift_count``)."""
        if lang in self.on_shift:
            return self.on_shift[lang]
        return on_shift_count(session, lang)


def identify(session: Session, line: Line, number: str) -> Sender:
    """One statement: the volunteer with this phone (E.164) if any, and the on-shift
    counts per supported language (what a new conversation's reply needs), and whether a
    survivor row exists.

    A prebuilt Core statement (the ORM's per-query work was a fifth of a first text's
    CPU). It reads only :data:`VOLUNTEER_COLUMNS` of a volunteer: most texts are
    survivors', for whom every volunteer column is NULL, and each column read costs the
    driver its description. A volunteer found becomes a tracked ORM object whose other
    columns load on first use (one ``SELECT``), since their commands change it
    (:func:`_volunteer_from`).
    """
    session.flush()  # as a Session query would (autoflush): pending changes count
    row = session.connection().execute(_statement(),
                                       {"phone_hash": line.vault.hash(number)}).one()
    counts = dict(zip(SUPPORTED_LANGUAGES, (int(n or 0) for n in row[:_COUNTS]),
                      strict=True))
    volunteer = _volunteer_from(session, row[_COUNTS + 1:]) if row[_COUNTS + 1] is not None \
        else None
    return Sender(volunteer, counts, bool(row[_COUNTS]))


#: The volunteer columns :func:`identify` reads (``id`` first): what a volunteer's relay
#: and commands need at once. The others load on first use (``attached(..., some=...)``).
VOLUNTEER_COLUMNS = ("id", "phone_hash", "opted_out", "on_shift", "languages")
_COUNTS = len(SUPPORTED_LANGUAGES)


def _volunteer_from(session: Session, values: Any) -> Volunteer:
    """The volunteer of ``values`` (:data:`VOLUNTEER_COLUMNS` in order) as a persistent
    ORM object, as a ``select(Volunteer)`` would give it: the one this session holds
    already if any (never a second copy), else one attached with those columns loaded
    and the others expired, so a change to it is flushed as an ``UPDATE``."""
    return attached(session, Volunteer, dict(zip(VOLUNTEER_COLUMNS, values, strict=True)),
                    some=VOLUNTEER_COLUMNS)


@cache
def _statement() -> Select[Any]:
    """The prebuilt statement (``:phone_hash`` bound per call; compiled once, cached):
    the counts, whether a survivor row exists, then :data:`VOLUNTEER_COLUMNS`."""
    phone_hash = bindparam("phone_hash", type_=String)
    table = Volunteer.__table__
    codes = literal(",") + func.replace(table.c.languages, " ", "") + literal(",")
    counts = select(*[func.count().filter(codes.like(f"%,{code},%")).label(f"on_shift_{code}")
                      for code in SUPPORTED_LANGUAGES]).where(
        table.c.on_shift.is_(True), table.c.active.is_(True)).subquery()
    return (select(*[counts.c[f"on_shift_{code}"] for code in SUPPORTED_LANGUAGES],
                   exists().where(Survivor.__table__.c.phone_hash == phone_hash)
                   .label("survivor_known"),
                   *[table.c[name].label(f"v_{name}") for name in VOLUNTEER_COLUMNS])
            .select_from(counts)
            .outerjoin(table, and_(table.c.phone_hash == phone_hash,
                                   table.c.active.is_(True))))
