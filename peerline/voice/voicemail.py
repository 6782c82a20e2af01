"""Voicemail: the recording, its transcription (through the crisis detector), and the
notice and text-back it leads to.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.delivery import outbox, remote_delete
from peerline.line import Line
from peerline.models import Call, CallStage, Voicemail, VoicemailStatus, Volunteer
from peerline.text import conversations, escalation, pairing
from peerline.voice import scripts
from peerline.voice.common import elapsed, get_call
from peerline.voice.hotline import escalate
from peerline.voice.prompts import LANG_NAMES, ONCALL_VOICEMAIL, TEXT_BACK, VOICEMAIL_TEXT
from peerline.voice.rings import cancel_rings
from peerline.voice.stage import resume


def to_voicemail(session: Session, line: Line, call: Call,
                 nobody_on_shift: bool = False) -> str:
    """Voicemail after the longest wait (or with nobody on shift), and a text-back."""
    if call.stage == CallStage.VOICEMAIL:
        return scripts.voicemail(call.id, call.lang, call.withheld, None)
    if call.stage in (CallStage.BRIDGING, CallStage.BRIDGED, CallStage.AFTER, CallStage.ENDED):
        return resume(session, line, call)
    call.stage, call.leave_reason = CallStage.VOICEMAIL, None
    if call.queued_at is not None:
        call.wait_s = elapsed(line, call.queued_at)
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
    if call.stage == CallStage.QUEUED:
        return to_voicemail(session, line, call)
    return resume(session, line, call)


def recorded(session: Session, line: Line, *, call_id: int, sid: str, recording_sid: str,
             recording_url: str, duration: int | None) -> str:
    """The ``<Record>`` action: keep the voicemail (a callback task); thank the caller."""
    call = get_call(session, call_id, sid)
    got = bool(recording_url) and (duration is None or duration > 0)
    if got:
        voicemail = session.scalar(select(Voicemail).where(Voicemail.call_id == call.id))
        if voicemail is not None and voicemail.status == VoicemailStatus.ERASED:
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
                          status=(VoicemailStatus.NO_CALLBACK if call.withheld
                                  else VoicemailStatus.NEW), attempts=0,
                          created_at=line.now())
    session.add(voicemail)
    session.flush()
    return voicemail


def announce_voicemail(session: Session, line: Line, voicemail: Voicemail) -> None:
    """Tell on-shift peers (and the on-call coordinator) a callback is waiting."""
    if voicemail.status != VoicemailStatus.NEW:
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
    if voicemail is not None and voicemail.status == VoicemailStatus.ERASED:
        remote_delete.forget(session, line, "transcription", transcription_sid)
        return
    if voicemail is None:
        voicemail = _new_voicemail(session, line, call)
    voicemail.transcription_sid = transcription_sid[:64] or voicemail.transcription_sid
    voicemail.transcript = text[:5000] or None
    voicemail.transcript_status = status[:16] or None
    if not text.strip():
        return
    detection = escalation.scan(text[:5000], call.lang, settings=line.settings)
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
