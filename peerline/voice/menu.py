"""A call's arrival and the menu: language, the hotline by key or word, the crisis offer.

A rostered volunteer's call goes to the IVR (:mod:`peerline.voice.ivr`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.groups import calls as group_calls
from peerline.line import Line
from peerline.models import Call, CallRole, CallStage, Conversation, ConversationStatus, Survivor
from peerline.people.lookup import find_volunteer, get_or_create_survivor
from peerline.people.phones import InvalidNumber, is_withheld, normalise
from peerline.voice import ivr, scripts
from peerline.voice.common import MENU_TRIES, BadInput, get_call, menu_word
from peerline.voice.hotline import heard_crisis, offer_hotline, to_hotline
from peerline.voice.queue import enqueue
from peerline.voice.stage import resume


def inbound(session: Session, line: Line, *, sid: str, from_raw: str, to_raw: str) -> str:
    """A call to the line: a rostered volunteer gets the IVR, anyone else the menu."""
    if not sid or len(sid) > 64:
        raise BadInput("CallSid is missing or malformed")
    try:
        line_number = normalise(to_raw)
    except InvalidNumber:
        raise BadInput("To is not a phone number") from None
    existing = session.scalar(select(Call).where(Call.sid == sid))
    if existing is not None:  # Twilio asked again: carry on where the call is
        if existing.role == CallRole.VOLUNTEER:
            return ivr.menu(session, line, existing)
        return resume(session, line, existing)
    number: str | None = None
    if not is_withheld(from_raw):
        try:
            number = normalise(from_raw)
        except InvalidNumber:
            number = None  # treated like a withheld number: still the menu
    if number is not None:
        volunteer = find_volunteer(session, line, number)
        if volunteer is not None:
            return ivr.start(session, line, sid=sid, volunteer=volunteer, number=number,
                             line_number=line_number)
    now = line.now()
    survivor = (get_or_create_survivor(session, line, number, "en") if number is not None
                else _anonymous_survivor(session, line, sid))
    conversation = Conversation(survivor_id=survivor.id, channel="voice",
                                status=ConversationStatus.CALL,
                                priority=0, front=False, lang=survivor.lang,
                                survivor_line=line_number, created_at=now, queued_at=now)
    session.add(conversation)
    session.flush()
    call = Call(sid=sid, role=CallRole.SURVIVOR, stage=CallStage.MENU, withheld=number is None,
                from_enc=line.vault.encrypt(number) if number else None,
                from_hash=line.vault.hash(number) if number else None,
                line_number=line_number, lang=survivor.lang, priority=0, tries=0,
                conversation_id=conversation.id, created_at=now)
    session.add(call)
    session.flush()
    return scripts.menu(call.id, extra=group_calls.menu_offer(session, line, call))


def _anonymous_survivor(session: Session, line: Line, sid: str) -> Survivor:
    """A withheld caller: a survivor row of their own, never texted (marked opted out)."""
    survivor = Survivor(phone_enc=line.vault.encrypt("withheld"),
                        phone_hash=line.vault.hash("withheld:" + sid), lang="en",
                        opted_out=True, created_at=line.now())
    session.add(survivor)
    session.flush()
    return survivor


def menu_choice(session: Session, line: Line, *, call_id: int, sid: str, digits: str,
                speech: str) -> str:
    """The caller answered the menu (a key, words, or nothing)."""
    call = get_call(session, call_id, sid)
    if call.stage != CallStage.MENU:
        return resume(session, line, call)
    choice = menu_word(digits, speech)
    crisis = heard_crisis(session, line, call, speech)  # escalates even when dialling
    if choice == "hotline":  # asked for it by name or key: dial, don't ask again
        return to_hotline(session, line, call)
    if crisis:
        return offer_hotline(session, line, call)
    if choice is None and digits.strip()[:1] == group_calls.GROUP_KEY:
        group = group_calls.start(session, line, call)  # None: no group open now
        if group is not None:
            return group
    if choice is None:
        call.tries += 1
        if call.tries < MENU_TRIES:
            return scripts.menu(call.id, again=True)
        choice = "en"  # never a dead end: English and the queue
    _set_lang(call, choice)
    return enqueue(session, line, call)


def _set_lang(call: Call, lang: str) -> None:
    call.lang = lang
    if call.conversation is not None:
        call.conversation.lang = lang


def crisis_choice(session: Session, line: Line, *, call_id: int, sid: str,
                  digits: str) -> str:
    """The answer to the crisis offer: 1 waits for a peer, anything else the hotline."""
    call = get_call(session, call_id, sid)
    if call.stage != CallStage.CRISIS:
        return resume(session, line, call)
    if digits.strip()[:1] == "1":
        return enqueue(session, line, call)
    return to_hotline(session, line, call)


def hotline_done(session: Session, line: Line, *, call_id: int, sid: str,
                 dial_status: str) -> str:
    """The hotline leg ended: a kind goodbye, or (not reached) how to reach it and a peer."""
    call = get_call(session, call_id, sid)
    if call.stage != CallStage.HOTLINE:
        return resume(session, line, call)
    if dial_status.lower() == "completed":
        return scripts.goodbye(call.lang, "hotline_done")
    return scripts.hotline_failed(call.id, call.lang)
