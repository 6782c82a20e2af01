"""The facilitator's side of a group call: IVR 5 leads the group (volunteer PIN keyed on
the call), and ``*`` opens their keypad: mute all, unmute all, lock, remove the last
speaker, end. Actions on the conference are carried out by REST from a task
(:func:`peerline.groups.conference.action_task`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from peerline.groups import conference, scripts
from peerline.groups.schedule import running_now
from peerline.line import Line
from peerline.models import Call, CallRole, CallStage, GroupActionKind, GroupMeeting, Volunteer
from peerline.voice.common import UnknownCall, caller_id, get_call, lock
from peerline.voice.prompts import to_volunteer
from peerline.voice.volunteer_pin import pin_verified

#: The volunteer IVR key that leads a group (offered only while theirs is open).
LEAD_KEY = "5"



def ivr_option(session: Session, line: Line, call: Call, volunteer: Volunteer) -> str:
    """Words the volunteer IVR adds when this volunteer's group is open (PIN keyed)."""
    if not pin_verified(line, call, volunteer):
        return ""
    running = running_now(session, line, volunteer.id)
    return to_volunteer("ivr_group", topic=running[0][0].topic) if running else ""


def lead(session: Session, line: Line, call: Call, volunteer: Volunteer) -> str | None:
    """IVR 5: the facilitator (PIN keyed on this call) into their group's conference.

    None when they have no group open now (the IVR says so)."""
    running = running_now(session, line, volunteer.id)
    if not running:
        return None
    if not pin_verified(line, call, volunteer):
        return scripts.volunteer_told("group_pin_needed")
    group, meeting = running[0]
    row = conference.meeting_row(session, line, meeting)
    if row.ended_at is not None:
        return scripts.volunteer_told("group_ended")
    call.stage, call.group_meeting_id = CallStage.FACILITATE, row.id
    volunteer.on_call = True  # no ring or offer reaches them while they lead
    intro = to_volunteer("group_lead", topic=group.topic, muted="yes" if group.muted else "no")
    return scripts.facilitator(call.id, row.id, caller_id(line, call), intro)


def _facilitator_call(session: Session, call_id: int, sid: str
                      ) -> tuple[Call, GroupMeeting]:
    call = get_call(session, call_id, sid, role=CallRole.VOLUNTEER)
    meeting = lock(session, GroupMeeting, call.group_meeting_id) \
        if call.group_meeting_id else None
    if meeting is None:
        raise UnknownCall(f"call {call_id}")
    return call, meeting


def facilitator_star(session: Session, line: Line, *, call_id: int, sid: str) -> str:
    """``/voice/group/lead/star``: the facilitator pressed ``*``: their controls."""
    call, meeting = _facilitator_call(session, call_id, sid)
    if call.stage != CallStage.FACILITATE or meeting.ended_at is not None:
        return scripts.volunteer_told("group_ended")
    return scripts.facilitator_controls(call.id, meeting.locked)


def facilitator_key(session: Session, line: Line, *, call_id: int, sid: str,
                    digits: str) -> str:
    """``/voice/group/lead/key``: 1 mute all, 2 unmute all, 3 lock/unlock, 4 remove the
    last speaker, 9 end; anything else back into the group."""
    call, meeting = _facilitator_call(session, call_id, sid)
    if call.stage != CallStage.FACILITATE or meeting.ended_at is not None:
        return scripts.volunteer_told("group_ended")
    key = digits.strip()[:1]
    said = None
    if key == "1":
        conference.request_action(session, line, meeting, GroupActionKind.MUTE_ALL)
        said = "group_muted"
    elif key == "2":
        conference.request_action(session, line, meeting, GroupActionKind.UNMUTE_ALL)
        said = "group_unmuted"
    elif key == "3":
        meeting.locked = not meeting.locked
        said = "group_locked" if meeting.locked else "group_unlocked"
    elif key == "4":
        target = conference.last_speaker(session, meeting)
        if target is None:
            said = "group_nobody"
        else:
            target.stage = CallStage.AFTER  # out of the group; its seat is free
            conference.request_action(session, line, meeting, GroupActionKind.REMOVE,
                                      target_call_id=target.id)
            said = "group_removed"
    elif key == "9":
        call.stage = CallStage.IVR
        conference.end_meeting(session, line, meeting)
        return scripts.volunteer_told("group_ended")
    intro = to_volunteer(said) if said else to_volunteer("group_lead", topic=meeting.group.topic,
                                                         muted="yes" if meeting.group.muted
                                                         else "no")
    return scripts.facilitator(call.id, meeting.id, caller_id(line, call), intro)
