"""Which free volunteer a waiting conversation is offered to: the last peer when the
survivor asked for them (``SAME``), else one who shares the lived experience the survivor
chose, else anyone suitable, but only after ``PEERLINE_MATCH_WAIT_S`` at most.

:func:`pick` is the one choice :func:`peerline.text.pairing.pair` makes for an ordinary
(non-crisis) conversation; crisis conversations never come here (they go to every
eligible volunteer at once). The extra wait starts the first time a suitable volunteer
is free but none matches (``Conversation.match_until``); a ``MATCH_WAIT_OVER`` task row
at that time pairs again, so the wait ends even after a Redis restart. While one
conversation waits for its match, the free volunteer is offered the next one in line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import Conversation, PeerChoice, Survivor, Volunteer
from peerline.peer import tags as tag_list

#: What the offer says when the survivor asked for their last peer again.
SAME_PEER = "same"


@dataclass
class Pick:
    """The volunteer to offer a conversation to, and why (``""``, a tag, or ``same``)."""

    volunteer: Volunteer
    why: str = ""


def wanted_tag(session: Session, line: Line, conversation: Conversation) -> str | None:
    """The lived-experience tag the survivor chose (None: no choice, skipped, or a tag
    no longer configured)."""
    phone_hash = session.scalar(select(Survivor.phone_hash).where(
        Survivor.id == conversation.survivor_id))
    tag = session.scalar(select(PeerChoice.tag).where(PeerChoice.phone_hash == phone_hash))
    return tag if tag in tag_list.configured(line) else None


def pick(session: Session, line: Line, conversation: Conversation,
         people: list[Volunteer]) -> Pick | None:
    """The volunteer to offer ``conversation`` to from ``people`` (best first), or None
    while it waits (at most the extra time) for a tag-matched peer."""
    if not people:
        return None
    if conversation.same_peer_id is not None:
        for volunteer in people:
            if volunteer.id == conversation.same_peer_id:
                return Pick(volunteer, SAME_PEER)
    tag = wanted_tag(session, line, conversation)
    if tag is None:
        return Pick(people[0])
    for volunteer in people:
        if tag in volunteer.match_tags:
            return Pick(volunteer, tag)
    now = line.now()
    if conversation.match_until is None:
        wait = max(0, int(line.setting("PEERLINE_MATCH_WAIT_S")))
        conversation.match_until = now + timedelta(seconds=wait)
        if wait:
            tasks.add(session, TaskKind.MATCH_WAIT_OVER, conversation.id, now, delay_s=wait,
                      dedupe_key=f"match:{conversation.id}")
    if now < conversation.match_until:
        return None
    return Pick(people[0])
