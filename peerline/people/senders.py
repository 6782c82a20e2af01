"""Who is texting, and who is on shift, in one round trip (the webhook's first question)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, literal, select
from sqlalchemy.orm import Session

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
    survivor row exists."""
    phone_hash = line.vault.hash(number)
    codes = literal(",") + func.replace(Volunteer.languages, " ", "") + literal(",")
    counts = select(*[func.count().filter(codes.like(f"%,{code},%")).label(code)
                      for code in SUPPORTED_LANGUAGES]).where(
        Volunteer.on_shift.is_(True), Volunteer.active.is_(True)).subquery()
    row = session.execute(
        select(Volunteer, *[counts.c[code] for code in SUPPORTED_LANGUAGES],
               exists().where(Survivor.phone_hash == phone_hash))
        .select_from(counts)
        .outerjoin(Volunteer, and_(Volunteer.phone_hash == phone_hash,
                                   Volunteer.active.is_(True)))).one()
    return Sender(row[0], {code: int(row[i + 1] or 0)
                           for i, code in enumerate(SUPPORTED_LANGUAGES)}, bool(row[-1]))
