"""Finding who is texting: a rostered volunteer, or a survivor."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .line import Line
from .models import Survivor, Volunteer


def find_volunteer(session: Session, line: Line, number: str) -> Volunteer | None:
    """The active volunteer whose phone is ``number`` (E.164), if any."""
    return session.scalar(select(Volunteer).where(
        Volunteer.phone_hash == line.vault.hash(number), Volunteer.active.is_(True)))


def find_survivor(session: Session, line: Line, number: str) -> Survivor | None:
    """The survivor record for ``number`` (E.164), if any."""
    return session.scalar(select(Survivor).where(Survivor.phone_hash == line.vault.hash(number)))


def get_or_create_survivor(session: Session, line: Line, number: str, lang: str) -> Survivor:
    """The survivor record for ``number``, created on first contact."""
    survivor = find_survivor(session, line, number)
    if survivor is None:
        survivor = Survivor(phone_enc=line.vault.encrypt(number),
                            phone_hash=line.vault.hash(number), lang=lang,
                            opted_out=False, created_at=line.now())
        session.add(survivor)
        session.flush()
    return survivor


def is_opted_out(session: Session, to_hash: str) -> bool:
    """True when the person with this phone hash has opted out of texts."""
    survivor = session.scalar(select(Survivor.opted_out).where(Survivor.phone_hash == to_hash))
    volunteer = session.scalar(select(Volunteer.opted_out).where(Volunteer.phone_hash == to_hash))
    return bool(survivor) or bool(volunteer)
