"""The TwiML of group calls: the PIN prompt, the conference for participants and the
facilitator, and the keypad menus they reach with ``*`` (``<Dial hangupOnStar>``).

Twilio passes no keys from inside a conference, so ``*`` drops the caller out of it
(``hangupOnStar``) to a ``<Gather>``; the answer acts (by REST on the conference, as a
task) and dials them straight back in.
"""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from peerline.voice.prompts import SPEECH_LANG, spoken, to_volunteer

POST = "POST"
#: Conference events the line listens to (attendance counts, the last speaker).
EVENTS = "start end join leave speaker"


def conference_name(meeting_id: int) -> str:
    """The conference of one group meeting."""
    return f"peerline-group-{meeting_id}"


def _say(node: VoiceResponse | Gather, key: str, lang: str, **values: object) -> None:
    node.say(spoken(key, lang, **values), language=SPEECH_LANG.get(lang, "en-US"))


def _vsay(node: VoiceResponse | Gather, text: str) -> None:
    node.say(text, language="en-US")


def pin(call_id: int, lang: str | None, wrong: bool = False) -> str:
    """Ask for the session PIN (digits, then ``#``); both languages when unknown."""
    r = VoiceResponse()
    action = f"/voice/group/pin?call={call_id}"
    g = r.gather(input="dtmf", finish_on_key="#", action=action, method=POST, timeout=10)
    key = "group_pin_wrong" if wrong else "group_pin"
    for each in ([lang] if lang else ["en", "es"]):
        _say(g, key, each)
    r.redirect(action, method=POST)
    return str(r)


def told(key: str, lang: str) -> str:
    """Say something kind, then hang up."""
    r = VoiceResponse()
    _say(r, key, lang)
    r.hangup()
    return str(r)


def told_then_menu(key: str, lang: str, call_id: int) -> str:
    """Say why the group can't be joined, then the ordinary menu (a peer, the hotline)."""
    r = VoiceResponse()
    _say(r, key, lang)
    action = f"/voice/menu?call={call_id}"
    g = r.gather(input="dtmf speech", num_digits=1, action=action, method=POST, timeout=6,
                 speech_timeout="auto", language="en-US",
                 hints="hotline, ayuda, English, español, Spanish, one, two, nine")
    _say(g, "menu", "en")
    _say(g, "menu", "es")
    r.redirect(action, method=POST)
    return str(r)


def seat_wait(call_id: int, lang: str, first: bool = True) -> str:
    """Held out of the group while a worker checks, by REST, that the seat's old call is
    over (a takeover): a short pause, then ask again."""
    r = VoiceResponse()
    if first:
        _say(r, "group_seat_check", lang)
    r.pause(length=2)
    r.redirect(f"/voice/group/wait?call={call_id}", method=POST)
    return str(r)


def participant(call_id: int, meeting_id: int, lang: str, topic: str, muted: bool,
                caller_id: str, welcome: bool = True) -> str:
    """A participant into the meeting's conference: muted if the group says so; it does
    not start before the facilitator; ``*`` leaves it for the help menu."""
    r = VoiceResponse()
    if welcome:
        _say(r, "group_welcome", lang, topic=topic)
    else:
        _say(r, "group_back", lang)
    d = r.dial(caller_id=caller_id, hangup_on_star=True,
               action=f"/voice/group/star?call={call_id}", method=POST)
    d.conference(conference_name(meeting_id), muted=muted, beep=False,
                 start_conference_on_enter=False, end_conference_on_exit=False,
                 status_callback=f"/voice/group/conference?meeting={meeting_id}",
                 status_callback_event=EVENTS, status_callback_method=POST)
    return str(r)


def participant_star(call_id: int, lang: str) -> str:
    """A participant pressed ``*``: one-to-one help, the hotline, or back to the group."""
    r = VoiceResponse()
    action = f"/voice/group/option?call={call_id}"
    g = r.gather(input="dtmf", num_digits=1, action=action, method=POST, timeout=6)
    _say(g, "group_star", lang)
    r.redirect(action, method=POST)
    return str(r)


def facilitator(call_id: int, meeting_id: int, caller_id: str, intro: str) -> str:
    """The facilitator into the conference: it starts when they enter.

    ``endConferenceOnExit`` stays false: ``*`` (``hangupOnStar``) makes them leave the
    conference for their keypad menu, and leaving with it set would end the group for
    everyone. The line ends the conference by REST instead when the facilitator's call
    ends or they press 9.
    """
    r = VoiceResponse()
    _vsay(r, intro)
    d = r.dial(caller_id=caller_id, hangup_on_star=True,
               action=f"/voice/group/lead/star?call={call_id}", method=POST)
    d.conference(conference_name(meeting_id), muted=False, beep=False,
                 start_conference_on_enter=True, end_conference_on_exit=False,
                 status_callback=f"/voice/group/conference?meeting={meeting_id}",
                 status_callback_event=EVENTS, status_callback_method=POST)
    return str(r)


def facilitator_controls(call_id: int, locked: bool) -> str:
    """The facilitator's keypad menu (after ``*``)."""
    r = VoiceResponse()
    action = f"/voice/group/lead/key?call={call_id}"
    g = r.gather(input="dtmf", num_digits=1, action=action, method=POST, timeout=6)
    _vsay(g, to_volunteer("group_controls", lock="unlock" if locked else "lock"))
    r.redirect(action, method=POST)
    return str(r)


def volunteer_told(key: str) -> str:
    """Tell the facilitator something and hang up."""
    r = VoiceResponse()
    _vsay(r, to_volunteer(key))
    r.hangup()
    return str(r)
