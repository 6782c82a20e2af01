"""Finding who is texting: a rostered volunteer, or a survivor."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, select, union_all
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Survivor, Volunteer
from peerline.models.attach import attached
from peerline.models.upsert import insert_survivor, insert_survivor_reading_choice


def lock_volunteers(session: Session, ids: Iterable[int]) -> dict[int, Volunteer]:
    """The volunteers ``ids``, locked at once in id order and read afresh, by id.

    The global lock order (ARCHITECTURE.md, "Row locks"): every path that may touch
    several volunteers locks all of them in one statement, in id order (a pairing pass,
    a pass's offers, a ring round), so no two of them deadlock."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {v.id: v for v in session.scalars(
        select(Volunteer).where(Volunteer.id.in_(wanted)).order_by(Volunteer.id)
        .with_for_update().execution_options(populate_existing=True))}


def find_volunteer(session: Session, line: Line, number: str) -> Volunteer | None:
    """The active volunteer whose phone is ``number`` (E.164), if any."""
    return session.scalar(select(Volunteer).where(
        Volunteer.phone_hash == line.vault.hash(number), Volunteer.active.is_(True)))


def find_survivor(session: Session, line: Line, number: str) -> Survivor | None:
    """The survivor record for ``number`` (E.164), if any."""
    return session.scalar(select(Survivor).where(Survivor.phone_hash == line.vault.hash(number)))


def get_or_create_survivor(session: Session, line: Line, number: str, lang: str) -> Survivor:
    """The survivor record for ``number``, created on first contact, and row-locked.

    The lock (``FOR UPDATE``) lasts until the caller's transaction ends, so one
    survivor's texts and calls are handled one at a time even when they arrive at once:
    the second sees the conversation the first opened. Creation is an
    ``INSERT ... ON CONFLICT DO NOTHING``, so two first texts at once make one row.
    """
    return survivor_for(session, line, number, lang)[0]


#: ``session.info`` key: the new survivor's peer-choice row (its columns, or None: no
#: row), read by :func:`survivor_for`'s insert on PostgreSQL in the same statement, as
#: ``(transaction, phone hash, row)``; ``peer/choice`` takes it instead of reading again.
CHOICE_READ = "peerline.choice_read_at_insert"


def choice_read_at_insert(session: Session, phone_hash: str) -> tuple[bool, Any]:
    """``(True, row or None)`` once, if this transaction's survivor insert read the
    peer-choice row of ``phone_hash`` (:data:`CHOICE_READ`); else ``(False, None)``."""
    handed = session.info.pop(CHOICE_READ, None)
    if handed is None or handed[0] is not session.get_transaction() or handed[1] != phone_hash:
        return False, None
    return True, handed[2]


def survivor_for(session: Session, line: Line, number: str, lang: str,
                 known: bool = True) -> tuple[Survivor, bool]:
    """:func:`get_or_create_survivor`, and whether this transaction created the row (then
    it has no conversations yet). A known survivor costs one statement, a new one two;
    ``known=False`` (a lookup in this transaction found no row) goes straight to the
    insert, which still takes a twin's row if one was made since. Both are prebuilt Core
    statements; the row becomes the session's ORM object (the one it holds, if any) by
    :func:`peerline.models.attach.attached`."""
    phone_hash = line.vault.hash(number)
    session.flush()  # as a query would (autoflush): Core statements below
    connection = session.connection()
    if known:
        row = connection.execute(_locked_survivor(), {"phone_hash": phone_hash}
                                 ).mappings().one_or_none()
        if row is not None:
            return attached(session, Survivor, row), False
    values = {"phone_enc": line.vault.encrypt(number), "phone_hash": phone_hash,
              "lang": lang, "opted_out": False, "created_at": line.now()}
    reading_choice = connection.dialect.name == "postgresql"
    row = connection.execute(insert_survivor_reading_choice() if reading_choice
                             else insert_survivor(), values).mappings().one_or_none()
    if row is not None:
        if reading_choice:
            session.info[CHOICE_READ] = (session.get_transaction(), phone_hash, None
                                         if row["pc_id"] is None else
                                         {name[3:]: row[name] for name in row.keys()
                                          if name.startswith("pc_")})
        return attached(session, Survivor, row), True  # locked by this transaction's insert
    # A twin created it at the same moment: wait for its lock and take the row.
    stmt = select(Survivor).where(Survivor.phone_hash == phone_hash).with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one(), False


@cache
def _locked_survivor() -> Any:
    """``SELECT`` every survivor column ``WHERE phone_hash = :phone_hash FOR UPDATE``
    (Core, built once: the row becomes the ORM object through ``attached``)."""
    table = Survivor.__table__
    return select(table).where(table.c.phone_hash == bindparam("phone_hash")).with_for_update()


def is_opted_out(session: Session, to_hash: str) -> bool:
    """True when the person with this phone hash has opted out of texts."""
    opted = session.execute(select(
        exists().where(Survivor.phone_hash == to_hash, Survivor.opted_out.is_(True)),
        exists().where(Volunteer.phone_hash == to_hash, Volunteer.opted_out.is_(True)))).one()
    return bool(opted[0]) or bool(opted[1])  # one round trip for both tables


def opted_out_among(session: Session, hashes: Iterable[str]) -> set[str]:
    """Which of these phone hashes opted out of texts (one statement for any number)."""
    wanted = sorted(set(hashes))
    if not wanted:
        return set()
    return set(session.scalars(union_all(
        select(Survivor.phone_hash).where(Survivor.phone_hash.in_(wanted),
                                          Survivor.opted_out.is_(True)),
        select(Volunteer.phone_hash).where(Volunteer.phone_hash.in_(wanted),
                                           Volunteer.opted_out.is_(True)))))
