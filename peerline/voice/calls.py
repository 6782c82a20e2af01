"""A survivor's call, from the menu to a peer, the hotline or voicemail; rings; status.

Every public function here takes a Session and plain values, runs inside the webhook's
single transaction and returns the TwiML to answer with. Work that talks to Twilio's REST
API (ringing volunteers, moving a caller out of the queue, hanging up the other rings,
dialling the hotline into a call) goes to the outbox (``tasks.add``) and runs in the task
handlers at the bottom of this module; they take ids, never numbers.

Atomicity: rows are locked call first, ring second, volunteer third (``FOR UPDATE``;
SQLite serialises writers). A peer takes a call with a compare-and-set on
``stage='queued' AND volunteer_id IS NULL``, so two peers pressing 1 at once make one
bridge; the other is told and hung up, never sent into a ``<Dial>``.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import outbox, remote_delete, tasks
from peerline.line import Line
from peerline.models import Call, Conversation, Ring, Survivor, Voicemail, Volunteer
from peerline.people import roster
from peerline.people.lookup import find_volunteer, get_or_create_survivor
from peerline.people.phones import InvalidNumber, is_withheld, normalise
from peerline.telephony.gateway import GatewayError
from peerline.text import conversations, escalation, pairing
from peerline.voice import scripts
from peerline.voice.prompts import LANG_NAMES, ONCALL_VOICEMAIL, TEXT_BACK, VOICEMAIL_TEXT

log = logging.getLogger(__name__)

#: Ring states in which a volunteer's phone is (about to be) ringing for a call.
LIVE_RINGS = ("new", "dialing", "ringing", "whisper")
#: Twilio call statuses that mean the call is over.
FINAL = {"completed", "busy", "failed", "no-answer", "canceled"}
#: How long a volunteer's phone rings (Twilio ``timeout``).
RING_TIMEOUT_S = 25
#: Pause between ring rounds for the same caller, and the retry while nobody is free.
RING_GAP_S = 5
RING_RETRY_S = 15
#: Longest stretch of hold silence between two position messages.
HOLD_SLICE_S = 20
#: Grace before the max-wait backstop pulls a caller out of the queue by REST.
DEADLINE_GRACE_S = 20
MENU_TRIES = 2

HOTLINE_WORDS = {"hotline", "ayuda", "crisis", "988", "nine", "nueve", "9"}
ENGLISH_WORDS = {"english", "inglés", "ingles", "one", "1"}
SPANISH_WORDS = {"español", "espanol", "spanish", "dos", "two", "2"}


class BadInput(ValueError):
    """A signed request the voice line cannot use; answered with a 4xx and this reason."""


class UnknownCall(LookupError):
    """A webhook about a call that is not (or no longer) ours; answered kindly in TwiML."""


# --- helpers ---------------------------------------------------------------------------

def url(line: Line, path: str) -> str:
    """An absolute URL for REST-placed calls (``PUBLIC_BASE_URL``), else the path."""
    return line.callback_url(path) or path


def _lock(session: Session, model: Any, ident: int) -> Any:
    stmt = select(model).where(model.id == ident).with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def get_call(session: Session, call_id: int, sid: str, role: str = "survivor") -> Call:
    """The call a webhook is about, locked; its ``CallSid`` must match."""
    call = _lock(session, Call, call_id)
    if call is None or call.role != role or call.sid != sid:
        raise UnknownCall(f"call {call_id}")
    return call


def caller_id(line: Line, call: Call) -> str:
    """The line number a call's outbound legs show: the one the survivor called."""
    return call.line_number if call.line_number in line.numbers else line.numbers[0]


def _words(speech: str) -> set[str]:
    return set(re.findall(r"[a-záéíóúñü0-9]+", speech.lower()))


def menu_word(digits: str, speech: str) -> str | None:
    """What a key or a few words at the menu mean: ``hotline``, ``en``, ``es`` or None."""
    key = digits.strip()[:1]
    if key == "9":
        return "hotline"
    if key in ("1", "2"):
        return "en" if key == "1" else "es"
    words = _words(speech)
    if words & HOTLINE_WORDS or "hotline" in speech.lower().replace(" ", ""):
        return "hotline"
    if words & SPANISH_WORDS:
        return "es"
    if words & ENGLISH_WORDS:
        return "en"
    return None


def _elapsed(line: Line, since: Any) -> int:
    return int((line.now() - since).total_seconds()) if since else 0


# --- arrival and the menu --------------------------------------------------------------

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
            from peerline.voice import ivr

            return ivr.start(session, line, sid=sid, volunteer=volunteer, number=number,
                             line_number=line_number)
    now = line.now()
    survivor = (get_or_create_survivor(session, line, number, "en") if number is not None
                else _anonymous_survivor(session, line, sid))
    conversation = Conversation(survivor_id=survivor.id, channel="voice", status="call",
                                priority=0, front=False, lang=survivor.lang,
                                survivor_line=line_number, created_at=now, queued_at=now)
    session.add(conversation)
    session.flush()
    call = Call(sid=sid, role="survivor", stage="menu", withheld=number is None,
                from_enc=line.vault.encrypt(number) if number else None,
                from_hash=line.vault.hash(number) if number else None,
                line_number=line_number, lang=survivor.lang, priority=0, tries=0,
                conversation_id=conversation.id, created_at=now)
    session.add(call)
    session.flush()
    return scripts.menu(call.id)


def _anonymous_survivor(session: Session, line: Line, sid: str) -> Survivor:
    """A withheld caller: a survivor row of their own, never texted (marked opted out)."""
    survivor = Survivor(phone_enc=line.vault.encrypt("withheld"),
                        phone_hash=line.vault.hash("withheld:" + sid), lang="en",
                        opted_out=True, created_at=line.now())
    session.add(survivor)
    session.flush()
    return survivor


def resume(session: Session, line: Line, call: Call) -> str:
    """The TwiML for wherever a call is now (a repeated or out-of-order webhook)."""
    if call.role == "volunteer":
        from peerline.voice import ivr

        return ivr.menu(session, line, call)
    stage = call.stage
    if stage == "menu":
        return scripts.menu(call.id)
    if stage == "crisis":
        return scripts.crisis_offer(call.id, call.lang)
    if stage == "queued":
        return scripts.enqueue(call.id, call.lang, intro=False)
    if stage in ("bridging", "bridged"):
        return _join(session, line, call)
    if stage == "hotline":
        return scripts.hotline(call.id, call.lang, line.setting("PEERLINE_HOTLINE_VOICE"),
                               caller_id(line, call))
    if stage == "voicemail":
        return scripts.voicemail(call.id, call.lang, call.withheld, None)
    if stage == "after":
        return scripts.after_call(call.id, call.lang)
    return scripts.goodbye(call.lang)


def menu_choice(session: Session, line: Line, *, call_id: int, sid: str, digits: str,
                speech: str) -> str:
    """The caller answered the menu (a key, words, or nothing)."""
    call = get_call(session, call_id, sid)
    if call.stage != "menu":
        return resume(session, line, call)
    choice = menu_word(digits, speech)
    crisis = heard_crisis(session, line, call, speech)  # escalates even when dialling
    if choice == "hotline":  # asked for it by name or key: dial, don't ask again
        return to_hotline(session, line, call)
    if crisis:
        return offer_hotline(session, line, call)
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


def heard_crisis(session: Session, line: Line, call: Call, speech: str) -> bool:
    """Run the crisis detector on what the caller said; escalate (once a call) on a match."""
    text = (speech or "").strip()[:1000]
    if not text:
        return False
    detection = escalation.scan(text, call.lang, model=line.setting("PEERLINE_CRISIS_MODEL"))
    if not detection.crisis:
        return False
    first = detection.matches[0] if detection.matches else None
    escalate(session, line, call, detection.category, first.text if first else None)
    return True


def escalate(session: Session, line: Line, call: Call, category: str | None,
             matched: str | None) -> None:
    """Crisis on a call: front of the voice queue, an Escalation record, on-call alerted."""
    first = call.priority == 0
    call.priority = 1
    if first and call.conversation is not None:
        escalation.escalate(session, line, call.conversation, source="voice",
                            category=category, matched=matched)


def offer_hotline(session: Session, line: Line, call: Call) -> str:
    """Crisis heard: offer the hotline at once (silence connects)."""
    call.stage = "crisis"
    cancel_rings(session, line, call)
    return scripts.crisis_offer(call.id, call.lang)


def crisis_choice(session: Session, line: Line, *, call_id: int, sid: str,
                  digits: str) -> str:
    """The answer to the crisis offer: 1 waits for a peer, anything else the hotline."""
    call = get_call(session, call_id, sid)
    if call.stage != "crisis":
        return resume(session, line, call)
    if digits.strip()[:1] == "1":
        return enqueue(session, line, call)
    return to_hotline(session, line, call)


def to_hotline(session: Session, line: Line, call: Call) -> str:
    """Connect the caller to the crisis hotline."""
    call.stage = "hotline"
    cancel_rings(session, line, call)
    return scripts.hotline(call.id, call.lang, line.setting("PEERLINE_HOTLINE_VOICE"),
                           caller_id(line, call))


def hotline_done(session: Session, line: Line, *, call_id: int, sid: str,
                 dial_status: str) -> str:
    """The hotline leg ended: a kind goodbye, or (not reached) how to reach it and a peer."""
    call = get_call(session, call_id, sid)
    if call.stage != "hotline":
        return resume(session, line, call)
    if dial_status.lower() == "completed":
        return scripts.goodbye(call.lang, "hotline_done")
    return scripts.hotline_failed(call.id, call.lang)


# --- the queue -------------------------------------------------------------------------

def wait(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """Put the caller in the waiting line (after the hotline was not reached, say)."""
    call = get_call(session, call_id, sid)
    return enqueue(session, line, call)


def enqueue(session: Session, line: Line, call: Call, intro: bool = True) -> str:
    """Wait for a peer: volunteers are rung; nobody on shift or waited out → voicemail."""
    if call.stage not in ("menu", "crisis", "hotline", "queued"):
        return resume(session, line, call)
    if roster.on_shift_count(session, call.lang) == 0:
        if call.conversation is not None:
            conversations.alert_nobody_on_shift(session, line, call.conversation)
        return to_voicemail(session, line, call, nobody_on_shift=True)
    now = line.now()
    call.stage, call.leave_reason = "queued", None
    if call.queued_at is None:
        call.queued_at = now
        if call.conversation is not None:
            call.conversation.queued_at = now
    max_wait = line.setting("PEERLINE_VOICE_MAX_WAIT_S")
    waited = _elapsed(line, call.queued_at)
    if waited >= max_wait:
        return to_voicemail(session, line, call)
    request_rings(session, line)
    tasks.add(session, "voice_deadline", call.id, now,
              delay_s=max_wait - waited + DEADLINE_GRACE_S, dedupe_key=f"voice_deadline:{call.id}")
    return scripts.enqueue(call.id, call.lang, intro=intro)


def position(session: Session, call: Call) -> int:
    """The caller's place among waiting callers of their language (crisis first)."""
    ahead = session.scalar(select(func.count()).select_from(Call).where(
        Call.role == "survivor", Call.stage == "queued", Call.lang == call.lang,
        Call.id != call.id,
        or_(Call.priority > call.priority,
            and_(Call.priority == call.priority,
                 or_(Call.queued_at < call.queued_at,
                     and_(Call.queued_at == call.queued_at, Call.id < call.id)))))) or 0
    return ahead + 1


def hold(session: Session, line: Line, *, call_id: int, sid: str, queue_time: int) -> str:
    """One hold cycle (``waitUrl``): position and hotline option; leave at the max wait."""
    call = get_call(session, call_id, sid)
    if call.stage != "queued":
        return scripts.leave()  # taken by a peer, or moved on: the queue action decides
    max_wait = line.setting("PEERLINE_VOICE_MAX_WAIT_S")
    remaining = max_wait - max(queue_time, _elapsed(line, call.queued_at))
    if remaining <= 0:
        call.leave_reason = "voicemail"
        return scripts.leave()
    if not has_live_rings(session, line, call.id):
        request_rings(session, line)  # a backstop beside the ring rounds' own retries
    return scripts.hold(call.id, call.lang, position(session, call),
                        listen_s=int(min(HOLD_SLICE_S, remaining)))


def hold_input(session: Session, line: Line, *, call_id: int, sid: str, digits: str,
               speech: str) -> str:
    """A key or words while on hold: crisis → hotline offer; 9/"hotline" → hotline."""
    call = get_call(session, call_id, sid)
    if call.stage != "queued":
        return scripts.leave()
    if heard_crisis(session, line, call, speech):
        call.leave_reason = "crisis"
        return scripts.leave()
    if menu_word(digits, speech) == "hotline":
        call.leave_reason = "hotline"
        return scripts.leave()
    return scripts.back_to_hold(call.id)


def left_queue(session: Session, line: Line, *, call_id: int, sid: str, result: str) -> str:
    """The ``<Enqueue>`` action: the caller left the queue; why decides what's next."""
    call = get_call(session, call_id, sid)
    result = result.lower()
    if result == "hangup":
        call_over(session, line, call, "completed", None)
        return scripts.empty()
    if call.stage in ("bridging", "bridged"):
        return _join(session, line, call)
    if call.stage != "queued":
        return resume(session, line, call)
    reason, call.leave_reason = call.leave_reason, None
    if reason == "hotline":
        return to_hotline(session, line, call)
    if reason == "crisis":
        return offer_hotline(session, line, call)
    return to_voicemail(session, line, call)


# --- voicemail -------------------------------------------------------------------------

def to_voicemail(session: Session, line: Line, call: Call,
                 nobody_on_shift: bool = False) -> str:
    """Voicemail after the longest wait (or with nobody on shift), and a text-back."""
    if call.stage == "voicemail":
        return scripts.voicemail(call.id, call.lang, call.withheld, None)
    if call.stage in ("bridging", "bridged", "after", "ended"):
        return resume(session, line, call)
    call.stage, call.leave_reason = "voicemail", None
    if call.queued_at is not None:
        call.wait_s = _elapsed(line, call.queued_at)
    cancel_rings(session, line, call)
    if not call.withheld and call.from_enc:
        outbox.queue_text(session, line, line.vault.decrypt(call.from_enc), call.line_number,
                          TEXT_BACK.get(call.lang, TEXT_BACK["en"]), kind="system",
                          conversation_id=call.conversation_id)
    hours = conversations.hours_text(line, call.lang) if nobody_on_shift else None
    return scripts.voicemail(call.id, call.lang, call.withheld, hours)


def voicemail_prompt(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """``/voice/voicemail``: where the max-wait backstop sends a caller."""
    call = get_call(session, call_id, sid)
    if call.stage == "queued":
        return to_voicemail(session, line, call)
    return resume(session, line, call)


def recorded(session: Session, line: Line, *, call_id: int, sid: str, recording_sid: str,
             recording_url: str, duration: int | None) -> str:
    """The ``<Record>`` action: keep the voicemail (a callback task); thank the caller."""
    call = get_call(session, call_id, sid)
    got = bool(recording_url) and (duration is None or duration > 0)
    if got:
        voicemail = session.scalar(select(Voicemail).where(Voicemail.call_id == call.id))
        if voicemail is not None and voicemail.status == "erased":
            remote_delete.forget(session, line, "recording", recording_sid)
        elif voicemail is None:
            voicemail = _new_voicemail(session, line, call)
            voicemail.recording_sid = recording_sid or None
            voicemail.recording_url, voicemail.duration_s = recording_url, duration
            announce_voicemail(session, line, voicemail)
        elif not voicemail.recording_url:
            voicemail.recording_sid = recording_sid or None
            voicemail.recording_url, voicemail.duration_s = recording_url, duration
    return scripts.recorded(call.lang, call.withheld, got)


def _new_voicemail(session: Session, line: Line, call: Call) -> Voicemail:
    voicemail = Voicemail(call_id=call.id, lang=call.lang, priority=call.priority,
                          status="no_callback" if call.withheld else "new", attempts=0,
                          created_at=line.now())
    session.add(voicemail)
    session.flush()
    return voicemail


def announce_voicemail(session: Session, line: Line, voicemail: Voicemail) -> None:
    """Tell on-shift peers (and the on-call coordinator) a callback is waiting."""
    if voicemail.status != "new":
        return
    crisis = ", crisis" if voicemail.priority else ""
    text = VOICEMAIL_TEXT.format(lang=LANG_NAMES.get(voicemail.lang, voicemail.lang),
                                 crisis=crisis)
    for volunteer in session.scalars(select(Volunteer).where(
            Volunteer.on_shift.is_(True), Volunteer.active.is_(True),
            Volunteer.opted_out.is_(False)).order_by(Volunteer.id)):
        if volunteer.speaks(voicemail.lang):
            number = pairing.free_line(line, pairing.lines_in_use(session, volunteer.id))
            outbox.text_volunteer(session, line, volunteer, number or line.numbers[0], text,
                                  kind="system")
    call = voicemail.call
    conversations.alert_oncall(session, line, f"voicemail-{call.id}", call.conversation_id,
                               ONCALL_VOICEMAIL.format(cid=call.id, crisis=crisis),
                               paced=False)


def transcription(session: Session, line: Line, *, call_id: int, sid: str, text: str,
                  status: str, transcription_sid: str = "") -> None:
    """The voicemail's transcript: kept, and scanned for crisis (hotline texted back).

    After the caller's quick exit it is not kept, and Twilio's copy is deleted.
    """
    call = get_call(session, call_id, sid)
    voicemail = session.scalar(select(Voicemail).where(Voicemail.call_id == call.id))
    if voicemail is not None and voicemail.status == "erased":
        remote_delete.forget(session, line, "transcription", transcription_sid)
        return
    if voicemail is None:
        voicemail = _new_voicemail(session, line, call)
    voicemail.transcription_sid = transcription_sid[:64] or voicemail.transcription_sid
    voicemail.transcript = text[:5000] or None
    voicemail.transcript_status = status[:16] or None
    if not text.strip():
        return
    detection = escalation.scan(text[:5000], call.lang,
                                model=line.setting("PEERLINE_CRISIS_MODEL"))
    if not detection.crisis:
        return
    voicemail.crisis_category, voicemail.priority = detection.category, 1
    first = detection.matches[0] if detection.matches else None
    escalate(session, line, call, detection.category, first.text if first else None)
    conversation = call.conversation
    if not call.withheld and conversation is not None:
        for body in escalation.hotline_reply(session, line, conversation.survivor,
                                             detection.category, force=True):
            outbox.text_survivor(session, line, conversation.survivor, call.line_number, body,
                                 kind="system", conversation_id=conversation.id)


# --- rings -----------------------------------------------------------------------------

def request_rings(session: Session, line: Line, delay_s: float = 0.0) -> None:
    """Ask a worker for a ring round (once, however often it is asked)."""
    key = "voice_ring" if not delay_s else "voice_ring_later"
    tasks.add(session, "voice_ring", None, line.now(), delay_s=delay_s, dedupe_key=key)


def _live(line: Line) -> Any:
    cutoff = line.now() - timedelta(seconds=RING_TIMEOUT_S + 60)
    return and_(Ring.status.in_(LIVE_RINGS), Ring.created_at > cutoff)


def has_live_rings(session: Session, line: Line, call_id: int) -> bool:
    """True while some volunteer's phone is ringing for this call."""
    return session.scalar(select(Ring.id).where(Ring.call_id == call_id, _live(line))
                          .limit(1)) is not None


def eligible(session: Session, lang: str) -> list[Volunteer]:
    """Volunteers a call may ring: on shift, active, not opted out, not on a call, speaks."""
    people = session.scalars(select(Volunteer).where(
        Volunteer.on_shift.is_(True), Volunteer.active.is_(True),
        Volunteer.on_call.is_(False), Volunteer.opted_out.is_(False)).order_by(Volunteer.id))
    return [v for v in people if v.speaks(lang)]


def ring_round(session: Session, line: Line) -> list[int]:
    """Ring every free eligible volunteer at once for each waiting caller, crisis first.

    A caller whose phones are already ringing is skipped; a volunteer rings for one
    caller at a time. Callers left without a ring are tried again shortly.
    """
    now = line.now()
    live = session.execute(select(Ring.call_id, Ring.volunteer_id).where(_live(line))).all()
    busy = {volunteer_id for _, volunteer_id in live}
    ringing_for = {call_id for call_id, _ in live}
    waiting = session.scalars(select(Call).where(Call.role == "survivor",
                                                 Call.stage == "queued")
                              .order_by(Call.priority.desc(), Call.queued_at, Call.id)).all()
    made: list[int] = []
    unserved = False
    for call in waiting:
        if call.id in ringing_for:
            continue
        rung = 0
        for candidate in eligible(session, call.lang):
            if candidate.id in busy:
                continue
            volunteer = _lock(session, Volunteer, candidate.id)
            if volunteer is None or volunteer.on_call or not volunteer.on_shift:
                continue
            if session.scalar(select(Ring.id).where(Ring.volunteer_id == volunteer.id,
                                                    _live(line)).limit(1)) is not None:
                continue  # another worker rang them a moment ago
            ring = Ring(call_id=call.id, volunteer_id=volunteer.id,
                        line_number=caller_id(line, call), status="new", created_at=now)
            session.add(ring)
            session.flush()
            tasks.add(session, "voice_dial", ring.id, now)
            busy.add(volunteer.id)
            made.append(ring.id)
            rung += 1
        unserved = unserved or rung == 0
    if unserved:
        request_rings(session, line, delay_s=RING_RETRY_S)
    return made


def cancel_rings(session: Session, line: Line, call: Call, status: str = "canceled") -> None:
    """Stop every ring still going for a call; the volunteers are told and hung up."""
    for ring in session.scalars(select(Ring).where(Ring.call_id == call.id,
                                                   Ring.status.in_(LIVE_RINGS))):
        ring.status, ring.ended_at = status, line.now()
        tasks.add(session, "voice_hangup", ring.id, line.now(),
                  dedupe_key=f"voice_hangup:{ring.id}")


def _ring_and_call(session: Session, ring_id: int, sid: str) -> tuple[Ring, Call]:
    ring = session.get(Ring, ring_id)
    if ring is None:
        raise UnknownCall(f"ring {ring_id}")
    call = _lock(session, Call, ring.call_id)
    ring = _lock(session, Ring, ring_id)
    if ring.sid is None and sid and session.scalar(
            select(Ring.id).where(Ring.sid == sid)) is None:
        ring.sid = sid  # the answer can come before the dialling worker stored the sid
    if ring.sid != sid:
        raise UnknownCall(f"ring {ring_id}")
    return ring, call


def _ring_lost(line: Line, ring: Ring, call: Call) -> str:
    if ring.status in LIVE_RINGS:
        taken = call.stage in ("bridging", "bridged", "after")
        ring.status, ring.ended_at = ("taken" if taken else "canceled"), line.now()
    return scripts.volunteer_told("taken" if ring.status == "taken" else "gone")


def ring_answered(session: Session, line: Line, *, ring_id: int, sid: str) -> str:
    """A rung volunteer picked up: the whisper (press 1), unless the call is gone."""
    ring, call = _ring_and_call(session, ring_id, sid)
    if ring.status == "accepted":
        return scripts.volunteer_conference(call.id)
    if ring.status in LIVE_RINGS and call.stage == "queued":
        ring.status, ring.answered_at = "whisper", line.now()
        return scripts.whisper(ring.id, call.lang, call.priority > 0)
    return _ring_lost(line, ring, call)


def ring_pressed(session: Session, line: Line, *, ring_id: int, sid: str, digits: str) -> str:
    """A key at the whisper: 1 takes the call (compare-and-set); the first 1 wins."""
    ring, call = _ring_and_call(session, ring_id, sid)
    if ring.status == "accepted":
        return scripts.volunteer_conference(call.id, intro=None)
    if ring.status not in LIVE_RINGS or call.stage != "queued":
        return _ring_lost(line, ring, call)
    if digits.strip()[:1] != "1":
        return scripts.whisper(ring.id, call.lang, call.priority > 0, again=True)
    now = line.now()
    taken = session.execute(
        update(Call).where(Call.id == call.id, Call.stage == "queued",
                           Call.volunteer_id.is_(None))
        .values(stage="bridging", volunteer_id=ring.volunteer_id, answered_at=now,
                wait_s=_elapsed(line, call.queued_at)))
    if taken.rowcount != 1:
        ring.status, ring.ended_at = "taken", now
        return scripts.volunteer_told("taken")
    session.refresh(call)
    ring.status, ring.answered_at = "accepted", ring.answered_at or now
    volunteer = _lock(session, Volunteer, ring.volunteer_id)
    volunteer.on_call = True
    if call.conversation is not None:
        call.conversation.volunteer_id, call.conversation.assigned_at = volunteer.id, now
    cancel_rings(session, line, call, status="taken")
    tasks.add(session, "voice_bridge", call.id, now, dedupe_key=f"voice_bridge:{call.id}")
    return scripts.volunteer_conference(call.id)


# --- the bridge ------------------------------------------------------------------------

def _join(session: Session, line: Line, call: Call) -> str:
    if call.stage == "bridging":
        call.stage = "bridged"
    if call.stage == "bridged":
        return scripts.caller_conference(call.id, call.lang)
    if call.stage == "queued":  # the peer dropped before the caller got there
        return scripts.enqueue(call.id, call.lang, intro=False)
    return resume(session, line, call)


def caller_join(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """``/voice/join``: the caller, out of the queue, joins the peer's conference."""
    return _join(session, line, get_call(session, call_id, sid))


def caller_conference_over(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """The caller's conference ended (the hotline hung up after a hand-over, say)."""
    call = get_call(session, call_id, sid)
    if call.stage not in ("bridged", "after"):
        return resume(session, line, call)
    call.stage = "after"
    if call.transfer_status == "joined":
        return scripts.goodbye(call.lang, "hotline_done")
    return scripts.after_call(call.id, call.lang)


def after(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """``/voice/after``: the peer has gone; thanks, the hotline by 9, goodbye."""
    call = get_call(session, call_id, sid)
    if call.stage in ("bridged", "after"):
        call.stage = "after"
        return scripts.after_call(call.id, call.lang)
    return resume(session, line, call)


def after_choice(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """A key after the peer left: 9 is the hotline, anything else goodbye."""
    call = get_call(session, call_id, sid)
    if digits.strip()[:1] == "9" and call.stage == "after":
        return to_hotline(session, line, call)
    return scripts.goodbye(call.lang, "goodbye")


def _peer_leg(session: Session, call_id: int, sid: str) -> tuple[Call, Ring]:
    # Only the leg the line itself placed to a rostered phone, and which accepted this
    # call, may act in it (the * menu, a warm transfer): never a call *to* the line,
    # whose caller ID may be faked. So these legs need no PIN (README, Decisions).
    call = _lock(session, Call, call_id)
    ring = session.scalar(select(Ring).where(Ring.call_id == call_id, Ring.status == "accepted",
                                             Ring.sid == sid)) if call else None
    if call is None or ring is None:
        raise UnknownCall(f"call {call_id}")
    return call, ring


def peer_star(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """The peer left the conference with ``*`` (or it ended): the options menu."""
    call, _ = _peer_leg(session, call_id, sid)
    if call.ended_at is not None or call.stage not in ("bridging", "bridged"):
        return scripts.volunteer_told("caller_gone")
    return scripts.star_menu(call.id)


def peer_option(session: Session, line: Line, *, call_id: int, sid: str, digits: str) -> str:
    """The peer's option: 9 warm transfer to the hotline, 8 end, else back to the caller."""
    call, ring = _peer_leg(session, call_id, sid)
    if call.ended_at is not None or call.stage not in ("bridging", "bridged"):
        return scripts.volunteer_told("caller_gone")
    key = digits.strip()[:1]
    if key == "9":
        warm_transfer(session, line, call)
        return scripts.volunteer_conference(call.id, intro="transfer")
    if key == "8":
        call.stage = "after"
        tasks.add(session, "voice_peer_left", call.id, line.now(),
                  dedupe_key=f"voice_peer_left:{call.id}")
        release(session, line, ring.volunteer_id)
        return scripts.volunteer_told("ended")
    return scripts.volunteer_conference(call.id, intro="back")


def warm_transfer(session: Session, line: Line, call: Call) -> bool:
    """Dial the hotline into the call's conference (the peer stays until hand-over)."""
    if call.transfer_status in ("requested", "dialing", "joined"):
        return False
    call.transfer_status = "requested"
    tasks.add(session, "voice_hotline", call.id, line.now(),
              dedupe_key=f"voice_hotline:{call.id}")
    return True


def hotline_leg(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """The hotline answered the warm transfer: into the conference, unless the caller left."""
    call = _lock(session, Call, call_id)
    if call is None or (call.hotline_sid and call.hotline_sid != sid):
        raise UnknownCall(f"call {call_id}")
    if call.ended_at is not None or call.stage not in ("bridging", "bridged"):
        return scripts.volunteer_told("hotline_gone")
    call.transfer_status, call.hotline_sid = "joined", sid
    return scripts.hotline_leg(call.id)


def release(session: Session, line: Line, volunteer_id: int | None) -> None:
    """A volunteer's call ended: free for text offers and rings again."""
    if volunteer_id is None:
        return
    volunteer = _lock(session, Volunteer, volunteer_id)
    if volunteer is None or not volunteer.on_call:
        return
    volunteer.on_call, volunteer.last_freed_at = False, line.now()
    pairing.request_pairing(session, line)
    request_rings(session, line)


# --- status callbacks ------------------------------------------------------------------

def record_status(session: Session, line: Line, *, sid: str, status: str,
                  duration: int | None, ring_id: int | None = None,
                  hotline_for: int | None = None, voicemail_id: int | None = None) -> None:
    """``/voice/status``: answered, abandoned (with wait), rings' no-answer/busy, legs."""
    status = status.lower()
    if voicemail_id is not None:
        from peerline.voice import ivr

        ivr.callback_status(session, line, voicemail_id=voicemail_id, sid=sid, status=status)
        return
    if hotline_for is not None:
        _hotline_status(session, line, hotline_for, sid, status)
        return
    if ring_id is None:
        ring_id = session.scalar(select(Ring.id).where(Ring.sid == sid))
    if ring_id is not None:
        _ring_status(session, line, ring_id, sid, status)
        return
    call_id = session.scalar(select(Call.id).where(Call.sid == sid))
    if call_id is None:
        return  # not one of ours (or long purged): nothing to record
    call = _lock(session, Call, call_id)
    call.twilio_status = status
    if status in FINAL:
        call_over(session, line, call, status, duration)


def call_over(session: Session, line: Line, call: Call, status: str,
              duration: int | None) -> None:
    """A call ended: outcome (answered / abandoned with wait / ...), rings and peer freed."""
    if call.ended_at is not None:
        return
    now = line.now()
    call.ended_at, call.twilio_status, call.duration_s = now, status, duration
    stage = call.stage
    call.stage = "ended"
    if call.role == "volunteer":
        call.outcome = "ivr"
        from peerline.voice import ivr

        ivr.ivr_call_over(session, line, call)
        return
    if call.answered_at is not None:
        call.outcome = "answered"
    else:
        call.outcome = {"queued": "abandoned"}.get(stage, stage)
        if stage == "queued" and call.queued_at is not None:
            call.wait_s = _elapsed(line, call.queued_at)
    cancel_rings(session, line, call)
    if stage == "bridging":  # the peer is alone in the conference: tell them
        for ring in session.scalars(select(Ring).where(Ring.call_id == call.id,
                                                       Ring.status == "accepted")):
            tasks.add(session, "voice_tell_peer", ring.id, now,
                      dedupe_key=f"voice_tell_peer:{ring.id}")
    release(session, line, call.volunteer_id)
    conversation = call.conversation
    if conversation is not None and conversation.status != "closed":
        conversation.status, conversation.closed_at = "closed", now
        conversation.closed_reason = f"call_{call.outcome}"[:40]


def _ring_status(session: Session, line: Line, ring_id: int, sid: str, status: str) -> None:
    ring = session.get(Ring, ring_id)
    if ring is None or (ring.sid and sid and ring.sid != sid):
        return
    call = _lock(session, Call, ring.call_id)
    ring = _lock(session, Ring, ring_id)
    if ring.sid is None and sid and session.scalar(
            select(Ring.id).where(Ring.sid == sid)) is None:
        ring.sid = sid
    if status not in FINAL:
        if status in ("initiated", "queued", "ringing") and ring.status in ("new", "dialing"):
            ring.status = "ringing"
        return
    now = line.now()
    if ring.status == "accepted":
        if ring.ended_at is None:
            ring.ended_at = now
            _peer_leg_over(session, line, call, ring)
        return
    if ring.status in LIVE_RINGS:
        ring.status = "declined" if status == "completed" else status
        ring.ended_at = now
    if call.stage == "queued" and not has_live_rings(session, line, call.id):
        request_rings(session, line, delay_s=RING_GAP_S)


def _peer_leg_over(session: Session, line: Line, call: Call, ring: Ring) -> None:
    """The peer hung up: free them; a caller still on the line is never left in silence."""
    release(session, line, ring.volunteer_id)
    if call.ended_at is not None:
        return
    if call.stage == "bridging":  # before the caller joined: back to the head of the line
        call.stage, call.volunteer_id, call.answered_at, call.wait_s = "queued", None, None, None
        if call.conversation is not None:
            call.conversation.volunteer_id = None
        request_rings(session, line)
    elif call.stage == "bridged" and call.transfer_status != "joined":
        call.stage = "after"
        tasks.add(session, "voice_peer_left", call.id, line.now(),
                  dedupe_key=f"voice_peer_left:{call.id}")


def _hotline_status(session: Session, line: Line, call_id: int, sid: str, status: str) -> None:
    call = _lock(session, Call, call_id)
    if call is None or (call.hotline_sid and call.hotline_sid != sid):
        return
    if status in FINAL and call.transfer_status in ("requested", "dialing"):
        call.transfer_status = "failed"
        for ring in session.scalars(select(Ring).where(Ring.call_id == call.id,
                                                       Ring.status == "accepted")):
            tasks.add(session, "voice_tell_peer", ring.id, line.now(),
                      dedupe_key=f"voice_tell_peer:{ring.id}")


# --- task handlers (the only code here that talks to the Gateway) -----------------------

@tasks.handler("voice_ring")
def ring_task(sessions: sessionmaker[Session], line: Line, _ref: int | None) -> None:
    """Worker entry: one ring round."""
    with sessions.begin() as session:
        ring_round(session, line)


@tasks.handler("voice_dial")
def dial_task(sessions: sessionmaker[Session], line: Line, ring_id: int | None) -> None:
    """Place one ring's call to a volunteer (at most once: a lost ring is re-rung later)."""
    with sessions.begin() as session:
        ring = session.get(Ring, ring_id)
        if ring is None or ring.status != "new":
            return
        if ring.call.stage != "queued":
            ring.status, ring.ended_at = "canceled", line.now()
            return
        ring.status = "dialing"
        to = line.vault.decrypt(ring.volunteer.phone_enc)
        from_number = ring.line_number
    try:
        sid = line.gateway.create_call(
            to, from_number, url(line, f"/voice/ring?ring={ring_id}"),
            status_callback=url(line, f"/voice/status?ring={ring_id}"), timeout=RING_TIMEOUT_S)
    except GatewayError as exc:
        log.warning("ring %s could not be placed (%s)", ring_id, exc)
        with sessions.begin() as session:
            ring = _lock(session, Ring, ring_id)
            if ring.status == "dialing":
                ring.status, ring.ended_at = "failed", line.now()
            request_rings(session, line, delay_s=RING_GAP_S)
        return
    with sessions.begin() as session:
        ring = _lock(session, Ring, ring_id)
        if ring.sid is None:
            ring.sid = sid
        if ring.status == "dialing":
            ring.status = "ringing"
        elif ring.status in ("taken", "canceled"):  # decided while we dialled: hang up
            tasks.add(session, "voice_hangup", ring.id, line.now(),
                      dedupe_key=f"voice_hangup:{ring.id}")


@tasks.handler("voice_hangup")
def hangup_task(sessions: sessionmaker[Session], line: Line, ring_id: int | None) -> None:
    """Hang up a ring nobody needs any more; one already listening is told why first."""
    with sessions() as session:
        ring = session.get(Ring, ring_id)
        if ring is None or ring.sid is None:
            return  # not placed yet: the dialling task hangs it up itself
        sid, status, answered = ring.sid, ring.status, ring.answered_at is not None
    try:
        if answered and status in ("taken", "canceled"):
            key = "taken" if status == "taken" else "gone"
            line.gateway.update_call(sid, twiml=scripts.volunteer_told(key))
        else:
            line.gateway.update_call(sid, status="completed")
    except GatewayError as exc:
        if exc.permanent:
            return  # the call had already ended
        raise tasks.Retry(2.0, str(exc)) from None


def _redirect_at_stage(sessions: sessionmaker[Session], line: Line, call_id: int | None,
                      stage: str, path: str) -> None:
    """Redirect a live call to ``path`` if it is still at ``stage``."""
    with sessions() as session:
        call = session.get(Call, call_id)
        if call is None or call.stage != stage or call.ended_at is not None:
            return
        sid = call.sid
    _redirect(line, sid, f"{path}?call={call_id}")


@tasks.handler("voice_bridge")
def bridge_task(sessions: sessionmaker[Session], line: Line, call_id: int | None) -> None:
    """Move the caller out of the queue into the peer's conference."""
    _redirect_at_stage(sessions, line, call_id, "bridging", "/voice/join")


@tasks.handler("voice_peer_left")
def peer_left_task(sessions: sessionmaker[Session], line: Line, call_id: int | None) -> None:
    """The peer left: move the caller from the conference to a kind last word."""
    _redirect_at_stage(sessions, line, call_id, "after", "/voice/after")


@tasks.handler("voice_deadline")
def deadline_task(sessions: sessionmaker[Session], line: Line, call_id: int | None) -> None:
    """Backstop for the max wait: a caller still queued is moved to voicemail by REST."""
    with sessions.begin() as session:
        call = _lock(session, Call, call_id)
        if call is None or call.ended_at is not None:
            return
        if call.stage == "queued":
            waited = _elapsed(line, call.queued_at)
            max_wait = line.setting("PEERLINE_VOICE_MAX_WAIT_S")
            if waited < max_wait:
                raise tasks.Retry(max_wait - waited + DEADLINE_GRACE_S, "not yet")
            to_voicemail(session, line, call)
            call.leave_reason = "deadline"
        if call.stage != "voicemail" or call.leave_reason != "deadline":
            return
        sid = call.sid
    _redirect(line, sid, f"/voice/voicemail?call={call_id}")
    with sessions.begin() as session:
        call = _lock(session, Call, call_id)
        call.leave_reason = None


@tasks.handler("voice_hotline")
def hotline_task(sessions: sessionmaker[Session], line: Line, call_id: int | None) -> None:
    """Warm transfer: dial the hotline into the call's conference (at most once)."""
    with sessions.begin() as session:
        call = _lock(session, Call, call_id)
        if call is None or call.transfer_status != "requested" or call.ended_at is not None:
            return
        call.transfer_status = "dialing"
        from_number = caller_id(line, call)
    try:
        sid = line.gateway.create_call(
            line.setting("PEERLINE_HOTLINE_VOICE"), from_number,
            url(line, f"/voice/hotline/leg?call={call_id}"),
            status_callback=url(line, f"/voice/status?hotline={call_id}"), timeout=60)
    except GatewayError as exc:
        log.warning("warm transfer for call %s failed (%s)", call_id, exc)
        with sessions.begin() as session:
            call = _lock(session, Call, call_id)
            _hotline_status(session, line, call.id, call.hotline_sid or "", "failed")
        return
    with sessions.begin() as session:
        call = _lock(session, Call, call_id)
        call.hotline_sid = call.hotline_sid or sid


@tasks.handler("voice_tell_peer")
def tell_peer_task(sessions: sessionmaker[Session], line: Line, ring_id: int | None) -> None:
    """Tell a peer in a call what changed: the caller left, or the hotline didn't answer."""
    with sessions() as session:
        ring = session.get(Ring, ring_id)
        if ring is None or ring.sid is None or ring.ended_at is not None:
            return
        call = ring.call
        if call.ended_at is not None:
            twiml = scripts.volunteer_told("caller_gone")
        elif call.transfer_status == "failed":
            twiml = scripts.volunteer_conference(call.id, intro="hotline_no_answer")
        else:
            return
        sid = ring.sid
    try:
        line.gateway.update_call(sid, twiml=twiml)
    except GatewayError as exc:
        if not exc.permanent:
            raise tasks.Retry(2.0, str(exc)) from None


@tasks.handler("voice_callback")
def callback_task(sessions: sessionmaker[Session], line: Line, voicemail_id: int | None) -> None:
    """Ring the peer who will return a voicemail (they then dial the caller, masked)."""
    from peerline.voice import ivr

    ivr.place_callback(sessions, line, voicemail_id)


def _redirect(line: Line, sid: str, path: str) -> None:
    try:
        line.gateway.update_call(sid, url=url(line, path))
    except GatewayError as exc:
        if exc.permanent:
            return  # the call ended meanwhile; its status callback tidies up
        raise tasks.Retry(1.0, str(exc)) from None
