"""Volunteers: the roster, and going on and off shift."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import (
    Application,
    ApplicationStatus,
    Conversation,
    ConversationStatus,
    Volunteer,
)
from peerline.people import pins, wellbeing
from peerline.people.lookup import find_survivor
from peerline.people.phones import normalise
from peerline.text import conversations, offers, pairing
from peerline.text.texts import VOLUNTEER_TEXTS
from peerline.voice.rings import request_rings

SUPPORTED_LANGUAGES = ("en", "es")


class RosterError(ValueError):
    """A roster change that cannot be made (bad number, duplicate, bad language)."""


def parse_languages(raw: str) -> str:
    """Validate a comma-separated language list (``en,es``)."""
    codes = [c.strip().lower() for c in raw.split(",") if c.strip()]
    if not codes or any(c not in SUPPORTED_LANGUAGES for c in codes):
        raise RosterError(f"languages must be among {', '.join(SUPPORTED_LANGUAGES)}")
    return ",".join(dict.fromkeys(codes))


def add_volunteer(session: Session, line: Line, name: str, phone: str, languages: str = "en",
                  capacity: int | None = None, pin: str | None = None,
                  take_over: bool = False) -> Volunteer:
    """Put a volunteer on the roster (off shift), with a voice PIN when one is given.

    With ``take_over`` (a coordinator's add), a row already kept for this phone but
    inactive is dealt with; an active row is refused:

    - an approval still waiting for the applicant's phone to confirm (a row never on the
      roster, with no history) is taken over: active, with the name, languages, capacity
      and PIN given now (no PIN when none is given), failures and locks cleared;
    - a former volunteer's row is retired (:func:`_retire`: it keeps its history, and
      loses the number and PIN) and a fresh row is added. Numbers change hands, and the
      coordinator vouches for the person adding it now: none of the former volunteer's
      shifts, groups, tags, caps or survivors asking for them (``SAME``) may pass to the
      new holder.

    A number waiting or talking as a survivor right now is refused (its next words
    would become volunteer commands)."""
    number = normalise(phone)
    if not name.strip():
        raise RosterError("a name is needed")
    if pin is not None:
        try:
            pins.check_format(pin)
        except pins.PinError as exc:
            raise RosterError(str(exc)) from None
    if capacity is not None and not 1 <= capacity <= 10:
        raise RosterError("capacity must be between 1 and 10")
    if number in line.numbers:
        raise RosterError("that is one of the line's own numbers")
    phone_hash = line.vault.hash(number)
    if in_survivor_conversation(session, line, number):
        raise RosterError("that number is in a conversation as a survivor right now; "
                          "add it once the conversation is over")
    kept = session.scalar(select(Volunteer).where(Volunteer.phone_hash == phone_hash)
                          .with_for_update())
    if kept is not None:
        if kept.active or not take_over:
            raise RosterError("a volunteer with that phone is already on the roster")
        if awaiting_confirmation(session, kept):
            return _take_over(session, line, kept, name, languages, capacity, pin)
        stopped = kept.opted_out  # a STOP belongs to the number, not to the person
        _retire(line, kept)
        session.flush()  # the number is free for the new row
    else:
        stopped = False
    volunteer = Volunteer(name=name.strip(), phone_enc=line.vault.encrypt(number),
                          phone_hash=phone_hash, languages=parse_languages(languages),
                          capacity=capacity or line.setting("PEERLINE_DEFAULT_CAPACITY"),
                          active=True, on_shift=False, on_call=False, missed_offers=0,
                          opted_out=stopped, pin_failures=0, code_failures=0,
                          created_at=line.now())
    if pin is not None:
        pins.set_pin(line, volunteer, pin)
    session.add(volunteer)
    session.flush()
    return volunteer


def in_survivor_conversation(session: Session, line: Line, number: str) -> bool:
    """True while this phone waits or talks as a survivor: on the roster, its next words
    would be volunteer commands, never reaching its peer (an approval waits for the same
    reason, with the same :func:`conversations.open_conversation`)."""
    survivor = find_survivor(session, line, number)
    return (survivor is not None
            and conversations.open_conversation(session, survivor.id) is not None)


def awaiting_confirmation(session: Session, volunteer: Volunteer) -> bool:
    """True for the row of an approval still waiting for the phone: it belongs to an
    application not approved, and none approved (it was never on the roster)."""
    statuses = set(session.scalars(select(Application.status).where(
        Application.volunteer_id == volunteer.id)))
    return bool(statuses) and ApplicationStatus.APPROVED not in statuses


def _retire(line: Line, volunteer: Volunteer) -> None:
    """A former volunteer's row gives up its phone: found by no number again (the keyed
    hash replaced by a random one no number has), the sealed number blanked, no PIN.
    The row and everything that refers to it (conversations, shifts, groups) stay as
    history, for nobody to reach through the number."""
    volunteer.phone_hash = f"retired-{volunteer.id}-{secrets.token_hex(16)}"[:64]
    volunteer.phone_enc = line.vault.encrypt("")
    volunteer.pin_hash = None
    pins.clear_locks(volunteer)


def _take_over(session: Session, line: Line, volunteer: Volunteer, name: str,
               languages: str, capacity: int | None, pin: str | None) -> Volunteer:
    """An approval's row (never on the roster) put on the roster, as if added now."""
    volunteer.name, volunteer.languages = name.strip(), parse_languages(languages)
    volunteer.capacity = capacity or line.setting("PEERLINE_DEFAULT_CAPACITY")
    volunteer.active, volunteer.on_shift, volunteer.missed_offers = True, False, 0
    volunteer.pin_hash = None
    pins.clear_locks(volunteer)
    if pin is not None:
        pins.set_pin(line, volunteer, pin)
    session.flush()
    return volunteer


def find_by_phone(session: Session, line: Line, phone: str) -> Volunteer:
    """The volunteer (active or not) with this phone, locked; :class:`RosterError` if none."""
    number = normalise(phone)
    volunteer = session.scalar(select(Volunteer).where(
        Volunteer.phone_hash == line.vault.hash(number)).with_for_update())
    if volunteer is None:
        raise RosterError("no volunteer with that phone is on the roster")
    return volunteer


def set_pin(session: Session, line: Line, phone: str, pin: str) -> Volunteer:
    """Give the volunteer with this phone a new voice PIN (stored hashed; lifts a lock)."""
    volunteer = find_by_phone(session, line, phone)
    try:
        pins.set_pin(line, volunteer, pin)
    except pins.PinError as exc:
        raise RosterError(str(exc)) from None
    return volunteer


def list_volunteers(session: Session) -> list[Volunteer]:
    """The whole roster, by name."""
    return list(session.scalars(select(Volunteer).order_by(Volunteer.name, Volunteer.id)))


def go_on_shift(session: Session, line: Line, volunteer: Volunteer,
                by_schedule: bool = False) -> str:
    """ON: start a shift and pull the head of the queue; returns the reply.

    ``by_schedule``: the schedule's automatic start (not the volunteer's own word, which
    is noted in ``shift_said_at``: inside a scheduled shift it wins).
    """
    if not by_schedule:
        volunteer.shift_said_at = line.now()
    if volunteer.on_shift:
        return VOLUNTEER_TEXTS["on_again"]
    volunteer.on_shift = True
    volunteer.shift_started_at = line.now()
    volunteer.missed_offers = 0
    pairing.request_pairing(session, line)
    request_rings(session, line)  # a caller on hold is rung at once
    return VOLUNTEER_TEXTS["on"]


def go_off_shift(session: Session, line: Line, volunteer: Volunteer, force: bool = False,
                 by_schedule: bool = False) -> str:
    """OFF: end a shift. Holding conversations, the first OFF asks; a second hands over.

    Off shift but still holding conversations (a scheduled shift ended while they
    talked), OFF hands them over at once. ``by_schedule``: see :func:`go_on_shift`.
    """
    if not by_schedule:
        volunteer.shift_said_at = line.now()
    live = list(session.scalars(select(Conversation).where(
        Conversation.volunteer_id == volunteer.id, Conversation.status == ConversationStatus.ACTIVE)
        .order_by(Conversation.id)))
    if not volunteer.on_shift and not force and not live:
        return VOLUNTEER_TEXTS["off_already"]
    pending_handover = any(c.handover_requested_at for c in live)
    if live and not force and not pending_handover:
        for conversation in live:
            conversation.handover_requested_at = line.now()
        return VOLUNTEER_TEXTS["off_holding"].format(n=len(live))
    offers.withdraw_all(session, line, volunteer.id)  # one being accepted now is left
    for conversation in live:
        conversations.requeue(session, line, conversation, reason="handover")
    volunteer.on_shift = False
    volunteer.shift_started_at = None
    if live:
        return VOLUNTEER_TEXTS["off_handed_over"].format(n=len(live))
    return VOLUNTEER_TEXTS["off"]


def status_text(session: Session, line: Line, volunteer: Volunteer) -> str:
    """STATUS: shift, live conversations, offers, and the waiting line."""
    active, open_offers = pairing.load(session, volunteer.id)
    waiting = session.scalar(select(func.count()).where(
        Conversation.status == ConversationStatus.WAITING)) or 0
    shift = "on shift" if volunteer.on_shift else "off shift"
    now = line.now()
    if volunteer.on_break(now):
        left = -(-int((volunteer.break_until - now).total_seconds()) // 60)
        shift += f" (on a break, {left} min left; BACK ends it)"
    shift += wellbeing.status_note(session, line, volunteer)
    return VOLUNTEER_TEXTS["status"].format(shift=shift, active=active, offers=open_offers,
                                            waiting=waiting)


def on_shift_count(session: Session, lang: str | None = None) -> int:
    """How many volunteers are on shift (speaking ``lang`` when given)."""
    people = session.scalars(select(Volunteer).where(
        Volunteer.on_shift.is_(True), Volunteer.active.is_(True))).all()
    return sum(1 for v in people if lang is None or v.speaks(lang))
