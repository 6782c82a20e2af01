"""Pairing: queue order, candidates, room, the pairing pass and the offers it makes.

What happens to an offer after it was made (YES, PASS, time-out, withdrawal, a failed
text) is :mod:`peerline.text.offers`, which imports this module (never the reverse).

Atomicity: a pass locks every volunteer it may offer to at once (``FOR UPDATE``, in id
order; SQLite serialises writers with ``BEGIN IMMEDIATE``) and takes waiting
conversations with ``SKIP LOCKED`` only, and each offer is made under those locks, so
no volunteer goes over capacity, with any number of workers.

Order: a pairing pass offers in queue order (crisis first, then by arrival). On
PostgreSQL (READ COMMITTED) each statement of a pass sees what other transactions
commit meanwhile: an offer expired by the sweeper, a PASS, an end. So a pass only uses
the room volunteers had when it began (:class:`Room`); room freed during a pass goes to
the next pass, which starts again at the head of the line (whoever freed it asks for
one, and the pass asks for one itself when it ends with more room than it used).
Passes run one at a time (a transaction-scoped advisory lock), and a pass that meets a
waiting conversation locked by someone else stops there and runs again shortly instead
of offering the survivors behind it first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, literal, select, text, union_all
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import outbox, tasks
from peerline.delivery.tasks import TaskKind
from peerline.line import Line
from peerline.models import (
    Conversation,
    ConversationStatus,
    Message,
    Offer,
    OfferStatus,
    Volunteer,
)
from peerline.peer import matching
from peerline.people.caps import may_offer_among
from peerline.people.lookup import lock_volunteers
from peerline.text.texts import VOLUNTEER_TEXTS

log = logging.getLogger(__name__)

LANG_NAMES = {"en": "English", "es": "Spanish"}
OPEN_OFFER = OfferStatus.PENDING
SPENT = (OfferStatus.PASSED, OfferStatus.EXPIRED, OfferStatus.FAILED)


def queue_order() -> tuple:
    """ORDER BY for the waiting line: crisis first, re-queued next, then arrival."""
    return (Conversation.priority.desc(), Conversation.front.desc(),
            Conversation.queued_at.asc(), Conversation.id.asc())


def request_pairing(session: Session, line: Line,
                    insert: Callable[[dict[str, Any]], int | None] | None = None) -> None:
    """Ask a worker to pair the head of the queue (once, however often it is asked).

    Asked again after the commit when a pending request was found (it could run its
    pass before this transaction commits, without seeing what it wrote). ``insert``:
    how to run the task's ``INSERT`` (``tasks.add``), e.g. with a new conversation's."""
    tasks.add(session, TaskKind.PAIR, None, line.now(), dedupe_key="pair",
              again_after_commit=True, insert=insert)


def effective_capacity(line: Line, volunteer: Volunteer) -> int:
    """Parallel text conversations: capacity, and one per line number in the pool."""
    return max(0, min(volunteer.capacity, len(line.numbers)))


@dataclass
class Held:
    """What a volunteer holds now: live conversations, open offers, their line numbers."""

    active: int = 0
    offers: int = 0
    lines: set[str] = field(default_factory=set)


def held(session: Session, volunteer_ids: Iterable[int]) -> dict[int, Held]:
    """:class:`Held` for each of ``volunteer_ids``, in one statement however many."""
    ids = sorted(set(volunteer_ids))
    if not ids:
        return {}
    live = select(Conversation.volunteer_id, Conversation.volunteer_line,
                  literal(1).label("live")).where(
        Conversation.volunteer_id.in_(ids), Conversation.status == ConversationStatus.ACTIVE)
    offered = select(Offer.volunteer_id, Offer.line_number, literal(0)).where(
        Offer.volunteer_id.in_(ids), Offer.status == OPEN_OFFER)
    out = {vid: Held() for vid in ids}
    for vid, number, is_live in session.execute(union_all(live, offered)):
        holds = out[vid]
        if is_live:
            holds.active += 1
        else:
            holds.offers += 1
        if number:
            holds.lines.add(number)
    return out


def lines_in_use(session: Session, volunteer_id: int) -> set[str]:
    """Line numbers a volunteer is using for live conversations and open offers."""
    return held(session, [volunteer_id])[volunteer_id].lines


def load(session: Session, volunteer_id: int) -> tuple[int, int]:
    """(live conversations, open offers) for a volunteer."""
    holds = held(session, [volunteer_id])[volunteer_id]
    return holds.active, holds.offers


def free_line(line: Line, used: set[str]) -> str | None:
    """The first line number not in ``used``."""
    return next((n for n in line.numbers if n not in used), None)


def lock_row(session: Session, model: Any, ident: int, skip_locked: bool = False) -> Any:
    """Row ``ident`` of ``model``, locked for this transaction and read afresh (``None``
    if there is none or, with ``skip_locked``, if another transaction holds it)."""
    stmt = select(model).where(model.id == ident).with_for_update(skip_locked=skip_locked)
    return session.scalar(stmt.execution_options(populate_existing=True))


def _offerable(line: Line):  # noqa: ANN202
    """SELECT the volunteers on shift who may get text offers (before per-person rules)."""
    return select(Volunteer).where(
        Volunteer.on_shift.is_(True), Volunteer.active.is_(True),
        Volunteer.on_call.is_(False), Volunteer.opted_out.is_(False),
        Volunteer.off_break(line.now()))


@dataclass
class Room:
    """What a volunteer could take when a pairing pass began: free slots, and whether
    ordinary (not only crisis) conversations may be offered to them."""

    slots: int
    ordinary: bool


def _loads(session: Session) -> dict[int, int]:
    """Live conversations plus open offers per volunteer (two grouped queries)."""
    used: dict[int, int] = {}
    for vid, count in session.execute(
            select(Conversation.volunteer_id, func.count())
            .where(Conversation.volunteer_id.is_not(None),
                   Conversation.status == ConversationStatus.ACTIVE)
            .group_by(Conversation.volunteer_id)):
        used[vid] = used.get(vid, 0) + count
    for vid, count in session.execute(
            select(Offer.volunteer_id, func.count()).where(Offer.status == OPEN_OFFER)
            .group_by(Offer.volunteer_id)):
        used[vid] = used.get(vid, 0) + count
    return used


def room_now(session: Session, line: Line) -> dict[int, Room]:
    """Volunteers with room for an offer now (volunteer id → :class:`Room`)."""
    used = _loads(session)
    slots = {}
    for volunteer in session.scalars(_offerable(line)):
        free = effective_capacity(line, volunteer) - used.get(volunteer.id, 0)
        if free > 0:
            slots[volunteer] = free
    crisis_ok = may_offer_among(session, line, slots, crisis=True)
    ordinary_ok = may_offer_among(session, line, slots, crisis=False)
    return {v.id: Room(free, v.id in ordinary_ok) for v, free in slots.items()
            if v.id in crisis_ok}


def _freed(before: dict[int, Room], now: dict[int, Room]) -> bool:
    """True when ``now`` has room ``before`` (what a pass had left) did not."""
    for vid, fresh in now.items():
        had = before.get(vid)
        if had is None or fresh.slots > had.slots or (fresh.ordinary and not had.ordinary):
            return True
    return False


def candidates(session: Session, line: Line, conversation: Conversation,
               room: dict[int, Room] | None = None) -> list[Volunteer]:
    """Volunteers who may be offered ``conversation``, best first.

    On shift, may be offered now (not on a break or cooling down after a crisis, under
    the wellbeing caps unless this is a crisis: :func:`peerline.people.caps.may_offer`),
    speaks the language, has free capacity and a free line number, has not passed, let
    expire or already held this conversation; fewest live conversations first, then the
    longest idle. With ``room`` (what a pass began with, :func:`room_now`), only volunteers who
    had room then and have some left in this pass.
    """
    crisis = conversation.priority > 0
    if room is not None and not any(r.slots > 0 and (crisis or r.ordinary)
                                    for r in room.values()):
        return []
    spent = set(session.scalars(select(Offer.volunteer_id).where(
        Offer.conversation_id == conversation.id,
        Offer.status.in_(SPENT + (OPEN_OFFER, OfferStatus.ACCEPTED)))))
    eligible = []
    for volunteer in session.scalars(_offerable(line)):
        if volunteer.id in spent or not volunteer.speaks(conversation.lang):
            continue
        if room is not None:
            had = room.get(volunteer.id)
            if had is None or had.slots <= 0 or not (crisis or had.ordinary):
                continue
        eligible.append(volunteer)
    allowed = may_offer_among(session, line, eligible, crisis=crisis)
    eligible = [volunteer for volunteer in eligible if volunteer.id in allowed]
    holds = held(session, (volunteer.id for volunteer in eligible))
    ranked = []
    for volunteer in eligible:
        mine = holds[volunteer.id]
        if mine.active + mine.offers >= effective_capacity(line, volunteer):
            continue
        if free_line(line, mine.lines) is None:
            continue
        idle_since = volunteer.last_freed_at or volunteer.shift_started_at or line.now()
        ranked.append((mine.active, idle_since, volunteer.id, volunteer))
    ranked.sort(key=lambda r: (r[0], r[1], r[2]))
    return [r[3] for r in ranked]


def _preview(session: Session, conversation: Conversation) -> str:
    body = session.scalar(select(Message.body).where(
        Message.conversation_id == conversation.id, Message.sender == "survivor",
        Message.kind == "text",  # not a command or the answer to the peer question
        Message.body.is_not(None)).order_by(Message.id.desc()).limit(1)) or ""
    body = " ".join(body.split())
    return body if len(body) <= 80 else body[:77] + "..."


def _why(why: str) -> str:
    """Why this volunteer was chosen, for the offer text (peer support)."""
    if why == matching.SAME_PEER:
        return VOLUNTEER_TEXTS["offer_same"]
    return VOLUNTEER_TEXTS["offer_matched"].format(tag=why) if why else ""


def _make_offers(session: Session, line: Line, conversation: Conversation,
                 chosen: list[matching.Pick], broadcast: bool) -> list[Offer]:
    """Offer ``conversation`` to each of ``chosen`` still free now; the offers made.

    One statement each, however many volunteers (a crisis broadcast): their rows are
    locked together (``FOR UPDATE``, in id order) and their load and line numbers read
    under that lock, then every offer, its text and its send and time-out tasks are
    inserted together. A volunteer :func:`peerline.people.caps.may_offer` no longer
    allows (off shift, on a voice call, opted out by ``STOP``, on a break, cooling down,
    capped) or who reached capacity since :func:`candidates` ranked them is skipped: the
    lock holds that until the commit. Each one gets their own free line number.
    """
    if not chosen:
        return []
    ids = sorted({choice.volunteer.id for choice in chosen})
    locked = lock_volunteers(session, ids)
    holds = held(session, ids)
    allowed = may_offer_among(session, line, locked.values(), crisis=conversation.priority > 0)
    now = line.now()
    timeout = line.setting("PEERLINE_OFFER_TIMEOUT_S")
    made: list[tuple[Volunteer, str, Offer]] = []
    for choice in chosen:
        volunteer, mine = locked.get(choice.volunteer.id), holds[choice.volunteer.id]
        if volunteer is None or volunteer.id not in allowed or \
                mine.active + mine.offers >= effective_capacity(line, volunteer):
            continue
        number = free_line(line, mine.lines)
        if number is None:
            continue
        mine.offers += 1
        mine.lines.add(number)
        made.append((volunteer, choice.why, Offer(
            conversation_id=conversation.id, volunteer_id=volunteer.id, line_number=number,
            status=OPEN_OFFER, broadcast=broadcast, created_at=now,
            expires_at=now + timedelta(seconds=timeout))))
    if not made:
        return []
    session.add_all([offer for _, _, offer in made])
    session.flush()  # one INSERT for all of them (ids returned)
    minutes = max(0, int((now - conversation.queued_at).total_seconds() // 60))
    values = {"lang": LANG_NAMES.get(conversation.lang, conversation.lang), "minutes": minutes,
              "preview": _preview(session, conversation), "crisis": ""}
    template = VOLUNTEER_TEXTS["offer_crisis" if broadcast else "offer"]
    texts = []
    for volunteer, why, offer in made:
        log.info("event=offer_made conversation=%s offer=%s volunteer=%s broadcast=%s",
                 conversation.id, offer.id, volunteer.id, broadcast)
        texts.append(outbox.ToVolunteer(
            volunteer, offer.line_number, template.format(**values, why=_why(why)),
            kind="offer", conversation_id=conversation.id, offer_id=offer.id))
    outbox.text_volunteers(session, line, texts)
    for _, _, offer in made:
        tasks.add(session, TaskKind.OFFER_EXPIRE, offer.id, now, delay_s=timeout)
    return [offer for _, _, offer in made]


#: The advisory lock (PostgreSQL) that lets one pairing pass run at a time.
PAIR_LOCK = 0x7065_6572  # "peer"


@dataclass
class Pass:
    """What a pairing pass did: offers made, and whether it stopped at a conversation
    another transaction held (then it must run again soon)."""

    made: int = 0
    blocked: bool = False


def pair(session: Session, line: Line) -> int:
    """Offer waiting conversations to free volunteers, head of the queue first.

    Returns how many offers were made. Normal conversations get one offer at a time;
    crisis conversations go to every eligible volunteer at once.
    """
    return pair_pass(session, line).made


def pair_pass(session: Session, line: Line) -> Pass:
    """One pairing pass in queue order (see the module doc for what keeps it in order)."""
    done = Pass()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PAIR_LOCK})
    room = room_now(session, line)
    if room:
        _lock_room(session, room)
        _walk(session, line, room, done)
    if not done.blocked and _freed(room, room_now(session, line)):
        # Room freed while this pass ran, by a transaction whose own request for a pass
        # may have found this one still pending: ask for the next pass here.
        request_pairing(session, line)
    return done


def _lock_room(session: Session, room: dict[int, Room]) -> None:
    """Lock every volunteer the pass may offer to, at once, in id order.

    The global lock order (ARCHITECTURE.md, "Row locks"): volunteers are locked in id
    order, all that a path may touch in one statement. Locked conversation by
    conversation (the ones offered the first, then the next's), a pass took them out of
    that order and deadlocked with a ring round. Conversations are taken after this
    with ``SKIP LOCKED`` only, so the pass never waits for one while holding these.
    :func:`_make_offers` reads each row again under this lock (fresh values)."""
    lock_volunteers(session, room)


def _walk(session: Session, line: Line, room: dict[int, Room], done: Pass) -> None:
    """Offer the waiting line, head first, the room the pass began with."""
    waiting = session.scalars(select(Conversation.id).where(
        Conversation.status == ConversationStatus.WAITING, Conversation.channel == "sms")
        .order_by(*queue_order()).limit(200)).all()
    for conversation_id in waiting:
        if not any(r.slots > 0 for r in room.values()):
            break
        conversation = lock_row(session, Conversation, conversation_id, skip_locked=True)
        if conversation is None:
            if session.scalar(select(Conversation.status).where(
                    Conversation.id == conversation_id)) == ConversationStatus.WAITING:
                done.blocked = True  # someone holds it: the ones behind it must wait
                break
            continue
        if conversation.status != ConversationStatus.WAITING:
            continue
        open_offers = session.scalar(select(func.count()).where(
            Offer.conversation_id == conversation.id, Offer.status == OPEN_OFFER)) or 0
        crisis = conversation.priority > 0
        if open_offers and not crisis:
            continue
        people = candidates(session, line, conversation, room)
        if crisis:  # never waits for a match: everyone eligible at once
            offers = _make_offers(session, line, conversation,
                                  [matching.Pick(volunteer) for volunteer in people],
                                  broadcast=True)
        else:
            offers = _offer_one(session, line, conversation, people)
        for offer in offers:
            done.made += 1
            room[offer.volunteer_id].slots -= 1


def _offer_one(session: Session, line: Line, conversation: Conversation,
               people: list[Volunteer]) -> list[Offer]:
    """An ordinary conversation's one offer: the volunteer :func:`matching.pick` chooses
    (the one place it is chosen), or, if the row lock finds them gone since the ranking
    (a call answered, ``STOP``, full), the next choice among the rest."""
    while people:
        pick = matching.pick(session, line, conversation, people)
        if pick is None:
            return []
        offers = _make_offers(session, line, conversation, [pick], broadcast=False)
        if offers:
            return offers
        people = [volunteer for volunteer in people if volunteer.id != pick.volunteer.id]
    return []


#: Seconds before a pass that stopped at a locked conversation runs again.
BLOCKED_RETRY_S = 0.5


def pair_task(sessions: sessionmaker[Session], line: Line,
              _ref: int | None) -> tasks.Retry | None:
    """Worker entry: one pairing pass (again shortly if it stopped at a locked row)."""
    with sessions.begin() as session:
        done = pair_pass(session, line)
    return tasks.Retry(BLOCKED_RETRY_S, "a waiting conversation was locked") \
        if done.blocked else None


def match_wait_task(sessions: sessionmaker[Session], line: Line,
                    conversation_id: int | None) -> None:
    """Worker entry: the extra wait for a tag-matched peer is over; pair again."""
    with sessions.begin() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or conversation.status != ConversationStatus.WAITING:
            return None
        until = conversation.match_until
        if until is not None and until > line.now():
            raise tasks.Retry((until - line.now()).total_seconds(), "not yet")
        if pair_pass(session, line).blocked:  # stopped at a locked row: the pairing
            request_pairing(session, line)  # job runs again (it retries while blocked)
    return None
