"""Who is texting, and who is on shift, in one round trip (the webhook's first question)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, exists, func, inspect, literal, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from peerline.line import Line
from peerline.models import Survivor, Volunteer
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
    CPU); a volunteer's row becomes a tracked ORM object only when one is found, since
    their commands change it (:func:`_volunteer_from`).
    """
    session.flush()  # as a Session query would (autoflush): pending changes count
    row = session.connection().execute(_statement(),
                                       {"phone_hash": line.vault.hash(number)}).mappings().one()
    counts = {code: int(row[f"on_shift_{code}"] or 0) for code in SUPPORTED_LANGUAGES}
    volunteer = _volunteer_from(session, row) if row["v_id"] is not None else None
    return Sender(volunteer, counts, bool(row["survivor_known"]))


def _volunteer_from(session: Session, row: RowMapping) -> Volunteer:
    """The volunteer of ``row`` as a persistent ORM object, as a ``select(Volunteer)``
    would give it: the one this session holds already if any (never a second copy),
    else one built from the row's columns (every column loaded, no history) and
    attached, so a change to it is flushed as an ``UPDATE``."""
    key = identity_key(Volunteer, row["v_id"])
    held = session.identity_map.get(key)
    if held is not None:
        return held  # type: ignore[no-any-return]
    volunteer = Volunteer(**{name: row[f"v_{name}"] for name in _volunteer_columns()})
    make_transient_to_detached(volunteer)
    session.add(volunteer)
    return volunteer


@cache
def _volunteer_columns() -> tuple[str, ...]:
    """The Volunteer attributes that are table columns (all of them, by key)."""
    mapper = inspect(Volunteer)
    names = tuple(attr.key for attr in mapper.column_attrs)
    if {c.key for c in Volunteer.__table__.c} != set(names):  # a column_property: refuse
        raise RuntimeError("Volunteer's mapped attributes are not its table's columns")
    return names


@cache
def _statement() -> Select[Any]:
    """The prebuilt statement (``:phone_hash`` bound per call; compiled once, cached)."""
    phone_hash = bindparam("phone_hash", type_=String)
    table = Volunteer.__table__
    codes = literal(",") + func.replace(table.c.languages, " ", "") + literal(",")
    counts = select(*[func.count().filter(codes.like(f"%,{code},%")).label(f"on_shift_{code}")
                      for code in SUPPORTED_LANGUAGES]).where(
        table.c.on_shift.is_(True), table.c.active.is_(True)).subquery()
    return (select(*[table.c[name].label(f"v_{name}") for name in _volunteer_columns()],
                   *[counts.c[f"on_shift_{code}"] for code in SUPPORTED_LANGUAGES],
                   exists().where(Survivor.__table__.c.phone_hash == phone_hash)
                   .label("survivor_known"))
            .select_from(counts)
            .outerjoin(table, and_(table.c.phone_hash == phone_hash,
                                   table.c.active.is_(True))))
