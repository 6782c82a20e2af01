"""What a quick exit (``#ERASE``) erases of peer support: the survivor's choice of peer,
the words after their feedback digits, and applications not yet decided (cancelled, their
answers gone). Feedback scores stay, as counts."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from peerline.models import Application, ApplicationStatus, Feedback, PeerChoice, Survivor
from peerline.peer import choice

OPEN_APPLICATION = (ApplicationStatus.ASKING, ApplicationStatus.SUBMITTED,
                    ApplicationStatus.CONFIRMING)


def forget(session: Session, survivor: Survivor) -> None:
    """Erase the survivor's peer-support words (in the caller's transaction)."""
    session.execute(delete(PeerChoice).where(PeerChoice.phone_hash == survivor.phone_hash))
    choice.forget(session, survivor.phone_hash)
    session.execute(update(Feedback).where(Feedback.phone_hash == survivor.phone_hash,
                                           Feedback.words.is_not(None)).values(words=None))
    session.execute(update(Application).where(
        Application.survivor_id == survivor.id, Application.status.in_(OPEN_APPLICATION))
        .values(status=ApplicationStatus.CANCELLED, step=None))
    session.execute(update(Application).where(Application.survivor_id == survivor.id).values(
        name=None, languages=None, availability=None))
