"""What a quick exit (``#ERASE``) erases of peer support: the survivor's choice of peer,
the words after their feedback digits, and applications not yet decided (cancelled, their
answers gone, and the inactive roster row an approval made while it waited for the phone
to confirm deleted: it holds their name and number). Feedback scores stay, as counts."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from peerline.models import (
    Application,
    ApplicationStatus,
    Feedback,
    PeerChoice,
    Survivor,
    Volunteer,
)
from peerline.peer import choice

OPEN_APPLICATION = (ApplicationStatus.ASKING, ApplicationStatus.SUBMITTED,
                    ApplicationStatus.CONFIRMING)


def forget(session: Session, survivor: Survivor) -> None:
    """Erase the survivor's peer-support words (in the caller's transaction)."""
    session.execute(delete(PeerChoice).where(PeerChoice.phone_hash == survivor.phone_hash))
    choice.forget(session, survivor.phone_hash)
    session.execute(update(Feedback).where(Feedback.phone_hash == survivor.phone_hash,
                                           Feedback.words.is_not(None)).values(words=None))
    drop_pending_volunteers(session, (Application.survivor_id == survivor.id)
                            & Application.status.in_(OPEN_APPLICATION))
    session.execute(update(Application).where(
        Application.survivor_id == survivor.id, Application.status.in_(OPEN_APPLICATION))
        .values(status=ApplicationStatus.CANCELLED, step=None))
    session.execute(update(Application).where(Application.survivor_id == survivor.id).values(
        name=None, languages=None, availability=None))


def drop_pending_volunteers(session: Session, which: ColumnElement[bool]) -> None:
    """Delete the never-confirmed roster rows of the (open) applications ``which`` picks.

    Such a row was never active (only a confirmation activates it, and that makes the
    application approved), so nothing else refers to it."""
    pending = set(session.scalars(select(Application.volunteer_id).where(
        which, Application.volunteer_id.is_not(None))))
    if not pending:
        return
    approved = set(session.scalars(select(Application.volunteer_id).where(
        Application.volunteer_id.in_(pending),
        Application.status == ApplicationStatus.APPROVED)))
    gone = list(session.scalars(select(Volunteer.id).where(
        Volunteer.id.in_(pending - approved), Volunteer.active.is_(False))))
    if not gone:
        return
    session.execute(update(Application).where(Application.volunteer_id.in_(gone))
                    .values(volunteer_id=None))
    session.execute(delete(Volunteer).where(Volunteer.id.in_(gone))
                    .execution_options(synchronize_session="fetch"))
