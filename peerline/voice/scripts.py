"""The voice line's TwiML: one function per thing a caller or volunteer hears.

URLs are relative (Twilio resolves them against the webhook's public URL, i.e.
``PUBLIC_BASE_URL``); every ``<Gather>`` falls through to a next step, so no script ends
in silence.
"""

from __future__ import annotations

from collections.abc import Sequence

from twilio.twiml.voice_response import Gather, VoiceResponse

from peerline.voice.prompts import LANG_NAMES, SPEECH_LANG, spoken, to_volunteer

POST = "POST"
VOLUNTEER_LANG = "en-US"
HOLD_HINTS = "hotline, ayuda, help, nine, nueve, 988"


def conference_name(call_id: int) -> str:
    """The conference a call's survivor, peer and (after a warm transfer) hotline share."""
    return f"peerline-call-{call_id}"


def queue_name(call_id: int) -> str:
    """Each waiting caller has their own Twilio queue; ours orders them (crisis first)."""
    return f"peerline-call-{call_id}"


def _say(node: VoiceResponse | Gather, text: str, lang: str) -> None:
    node.say(text, language=SPEECH_LANG.get(lang, "en-US"))


def _vsay(node: VoiceResponse | Gather, text: str) -> None:
    node.say(text, language=VOLUNTEER_LANG)


def empty() -> str:
    """An empty ``<Response/>`` (e.g. answering an action whose TwiML Twilio ignores)."""
    return str(VoiceResponse())


# --- survivors -------------------------------------------------------------------------

def menu(call_id: int, again: bool = False, extra: Sequence[str] = ()) -> str:
    """Greeting, language choice and the hotline option, by key or by voice; ``extra``:
    words said after them (a group open now: press 7)."""
    r = VoiceResponse()
    action = f"/voice/menu?call={call_id}"
    g = r.gather(input="dtmf speech", num_digits=1, action=action, method=POST, timeout=6,
                 speech_timeout="auto", language="en-US",
                 hints="hotline, ayuda, English, español, Spanish, one, two, nine")
    key = "menu_again" if again else "menu"
    _say(g, spoken(key, "en"), "en")
    _say(g, spoken(key, "es"), "es")
    for words in extra:
        _say(g, words, "en")
    r.redirect(action, method=POST)
    return str(r)


def enqueue(call_id: int, lang: str, intro: bool = True) -> str:
    """Into the waiting line: hold messages come from ``waitUrl``."""
    r = VoiceResponse()
    if intro:
        _say(r, spoken("queue_intro", lang), lang)
    r.enqueue(queue_name(call_id), action=f"/voice/queued?call={call_id}", method=POST,
              wait_url=f"/voice/hold?call={call_id}", wait_url_method=POST)
    return str(r)


def hold(call_id: int, lang: str, position: int, listen_s: int,
         peer_options: Sequence[str] | None = None) -> str:
    """One hold cycle: the caller's position and the hotline option, then a pause; with
    ``peer_options``, first the optional "what kind of peer" question (keys 1.., 0)."""
    r = VoiceResponse()
    g = r.gather(input="dtmf speech", num_digits=1, action=f"/voice/hold/input?call={call_id}",
                 method=POST, timeout=max(1, listen_s), speech_timeout="auto",
                 language=SPEECH_LANG.get(lang, "en-US"), hints=HOLD_HINTS)
    _say(g, spoken("hold", lang, position=position), lang)
    if peer_options:
        listed = ", ".join(spoken("hold_peer_option", lang, n=n, name=name)
                           for n, name in enumerate(peer_options, start=1))
        _say(g, spoken("hold_peer_question", lang, options=listed[:1].upper() + listed[1:]),
             lang)
    return str(r)


def back_to_hold(call_id: int, lang: str = "en", said: str | None = None) -> str:
    """Back to the hold loop (inside the queue), after ``said`` if given."""
    r = VoiceResponse()
    if said:
        _say(r, said, lang)
    r.redirect(f"/voice/hold?call={call_id}", method=POST)
    return str(r)


def leave() -> str:
    """Leave the queue; the ``<Enqueue>`` action decides what comes next."""
    r = VoiceResponse()
    r.leave()
    return str(r)


def crisis_offer(call_id: int, lang: str) -> str:
    """Crisis heard: the hotline at once; silence means yes."""
    r = VoiceResponse()
    g = r.gather(input="dtmf", num_digits=1, action=f"/voice/crisis?call={call_id}",
                 method=POST, timeout=6)
    _say(g, spoken("crisis_offer", lang), lang)
    r.redirect(f"/voice/crisis?call={call_id}&default=hotline", method=POST)
    return str(r)


def hotline(call_id: int, lang: str, hotline_number: str, caller_id: str) -> str:
    """Connect the caller to the crisis hotline (the line's number as caller ID)."""
    r = VoiceResponse()
    _say(r, spoken("hotline_connecting", lang), lang)
    d = r.dial(caller_id=caller_id, action=f"/voice/hotline/done?call={call_id}", method=POST,
               timeout=60)
    d.number(hotline_number)
    return str(r)


def hotline_failed(call_id: int, lang: str) -> str:
    """The hotline did not answer: say how to reach it, then wait for a peer."""
    r = VoiceResponse()
    _say(r, spoken("hotline_failed", lang), lang)
    r.redirect(f"/voice/wait?call={call_id}", method=POST)
    return str(r)


def goodbye(lang: str, key: str = "hotline_done") -> str:
    """A kind last word, then hang up."""
    r = VoiceResponse()
    _say(r, spoken(key, lang), lang)
    r.hangup()
    return str(r)


def voicemail(call_id: int, lang: str, withheld: bool, nobody_on_shift: str | None) -> str:
    """Record a message (transcribed; the transcript is scanned for crisis)."""
    r = VoiceResponse()
    if nobody_on_shift:
        _say(r, spoken("nobody_on_shift", lang, hours=nobody_on_shift), lang)
    _say(r, spoken("voicemail_withheld" if withheld else "voicemail", lang), lang)
    r.record(action=f"/voice/recorded?call={call_id}", method=POST, max_length=180,
             timeout=8, finish_on_key="#", play_beep=True, transcribe=True,
             transcribe_callback=f"/voice/transcription?call={call_id}")
    r.redirect(f"/voice/recorded?call={call_id}", method=POST)
    return str(r)


def recorded(lang: str, withheld: bool, got_message: bool) -> str:
    """After the recording: thanks, what happens next, the hotline; hang up."""
    key = "no_message" if not got_message else ("recorded_withheld" if withheld else "recorded")
    return goodbye(lang, key)


def caller_conference(call_id: int, lang: str) -> str:
    """The caller joins the peer in the call's conference; leaving it ends it."""
    r = VoiceResponse()
    _say(r, spoken("connected", lang), lang)
    d = r.dial(action=f"/voice/bridge/end?call={call_id}", method=POST)
    d.conference(conference_name(call_id), beep=False, start_conference_on_enter=True,
                 end_conference_on_exit=True)
    return str(r)


def after_call(call_id: int, lang: str) -> str:
    """The peer left (or the hand-over ended): thanks, the hotline by 9, goodbye."""
    r = VoiceResponse()
    g = r.gather(input="dtmf", num_digits=1, action=f"/voice/after/choice?call={call_id}",
                 method=POST, timeout=5)
    _say(g, spoken("peer_left", lang), lang)
    _say(r, spoken("goodbye", lang), lang)
    r.hangup()
    return str(r)


def trouble(lang: str = "en") -> str:
    """Something went wrong on our side: the hotline and a kind goodbye, never silence."""
    return goodbye(lang, "trouble")


# --- volunteers' legs ------------------------------------------------------------------

def whisper(ring_id: int, lang: str, crisis: bool, again: bool = False) -> str:
    """What a rung volunteer hears: a peer line call; press 1 to take it."""
    r = VoiceResponse()
    g = r.gather(input="dtmf", num_digits=1, action=f"/voice/ring/press?ring={ring_id}",
                 method=POST, timeout=8)
    if again:
        _vsay(g, to_volunteer("whisper_again"))
    else:
        text = to_volunteer("whisper", crisis=", crisis" if crisis else "",
                            lang=LANG_NAMES.get(lang, lang))
        _vsay(g, text)
        _vsay(g, text)
    _vsay(r, to_volunteer("goodbye"))
    r.hangup()
    return str(r)


def volunteer_told(key: str) -> str:
    """Tell a volunteer something (taken, gone, ended) and hang up; never a ``<Dial>``."""
    r = VoiceResponse()
    _vsay(r, to_volunteer(key))
    r.hangup()
    return str(r)


def volunteer_conference(call_id: int, intro: str | None = "connecting") -> str:
    """The peer in the call's conference; ``*`` leaves it for the options menu."""
    r = VoiceResponse()
    if intro:
        _vsay(r, to_volunteer(intro))
    d = r.dial(hangup_on_star=True, action=f"/voice/bridge/star?call={call_id}", method=POST)
    d.conference(conference_name(call_id), beep=False, start_conference_on_enter=True,
                 end_conference_on_exit=False)
    return str(r)


def star_menu(call_id: int) -> str:
    """The peer's options during a call (after ``*``)."""
    r = VoiceResponse()
    g = r.gather(input="dtmf", num_digits=1, action=f"/voice/bridge/option?call={call_id}",
                 method=POST, timeout=6)
    _vsay(g, to_volunteer("star_menu"))
    r.redirect(f"/voice/bridge/option?call={call_id}", method=POST)
    return str(r)


def hotline_leg(call_id: int) -> str:
    """The hotline's leg joins the conference; when it hangs up the conference ends."""
    r = VoiceResponse()
    _vsay(r, to_volunteer("hotline_intro"))
    d = r.dial()
    d.conference(conference_name(call_id), beep=False, start_conference_on_enter=True,
                 end_conference_on_exit=True)
    return str(r)


# --- volunteer IVR ---------------------------------------------------------------------

def pin(action: str, prompt: str = "pin", wrong: bool = False) -> str:
    """Ask for the volunteer's PIN (digits, then ``#``); the answer goes to ``action``."""
    r = VoiceResponse()
    g = r.gather(input="dtmf", finish_on_key="#", action=action, method=POST, timeout=8)
    _vsay(g, to_volunteer("pin_wrong" if wrong else prompt))
    r.redirect(action, method=POST)
    return str(r)


def ivr_menu(call_id: int, intro: list[str], menu_text: str) -> str:
    """Say ``intro`` lines, then the IVR menu; no key → goodbye."""
    r = VoiceResponse()
    for line in intro:
        _vsay(r, line)
    g = r.gather(input="dtmf", num_digits=1, action=f"/voice/volunteer/choice?call={call_id}",
                 method=POST, timeout=6)
    _vsay(g, menu_text)
    _vsay(r, to_volunteer("goodbye"))
    r.hangup()
    return str(r)


def callback_offer(voicemail_id: int, intro: str, recording_url: str | None) -> str:
    """A voicemail to return: hear it, then press 1 to call back (masked)."""
    r = VoiceResponse()
    _vsay(r, intro)
    if recording_url:
        r.play(recording_url)
    else:
        _vsay(r, to_volunteer("callback_no_recording"))
    g = r.gather(input="dtmf", num_digits=1, action=f"/voice/callback/press?vm={voicemail_id}",
                 method=POST, timeout=8)
    _vsay(g, to_volunteer("callback_offer"))
    r.redirect(f"/voice/callback/press?vm={voicemail_id}", method=POST)
    return str(r)


def callback_dial(voicemail_id: int, number: str, caller_id: str) -> str:
    """Dial the survivor back with the line's number as caller ID."""
    r = VoiceResponse()
    _vsay(r, to_volunteer("callback_dialing"))
    d = r.dial(caller_id=caller_id, action=f"/voice/callback/done?vm={voicemail_id}",
               method=POST, timeout=40)
    d.number(number)
    return str(r)
