"""Signing up for a group by text (``GROUPS``, ``JOIN n``, ``LEAVE n``), the session PIN,
and the reminder before a meeting.

A sign-up is for one meeting (a group on one local date) and is known by the survivor's
keyed hash. Each sign-up has its own 6-digit session PIN: the caller keys it to join (caller
ID can be faked). The PIN is kept as a keyed hash (found again when a caller keys it) and
sealed with the vault (so the reminder can repeat it); it is never stored in clear.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from peerline.delivery import outbox, tasks
from peerline.delivery.tasks import TaskKind
from peerline.groups.schedule import Meeting, line_zone, local_time, upcoming
from peerline.line import Line
from peerline.models import GroupSession, GroupSignup, SignupStatus, Survivor
from peerline.text.texts import say

log = logging.getLogger(__name__)

PIN_DIGITS = 6
LANG_NAMES = {"en": {"en": "English", "es": "Spanish"},
              "es": {"en": "inglés", "es": "español"}}
_ES_DAYS = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
_ES_MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov",
              "dic")


def pin_hash(line: Line, group_id: int, occurs_on: object, pin: str) -> str:
    """The keyed hash a session PIN is found by (per meeting)."""
    return line.vault.hash(f"group-pin:{group_id}:{occurs_on}:{pin}")


def when_text(line: Line, meeting: Meeting, lang: str) -> str:
    """A meeting's start on the line's clock face, in ``lang``."""
    at = local_time(line, meeting.starts_at)
    zone = at.tzname() or str(line_zone(line))
    if lang == "es":
        return (f"{_ES_DAYS[at.weekday()]} {at.day} {_ES_MONTHS[at.month - 1]}, "
                f"{at:%H:%M} ({zone})")
    hour = at.hour % 12 or 12
    return f"{at:%a %b} {at.day}, {hour}:{at:%M} {'AM' if at.hour < 12 else 'PM'} {zone}"


def _active(session: Session, group_id: int, meeting: Meeting, phone_hash: str
            ) -> GroupSignup | None:
    return session.scalar(select(GroupSignup).where(
        GroupSignup.group_id == group_id, GroupSignup.occurs_on == meeting.occurs_on,
        GroupSignup.phone_hash == phone_hash))


def list_text(session: Session, line: Line, survivor: Survivor, lang: str | None = None) -> str:
    """``GROUPS`` (or ``JOIN`` alone): the upcoming meetings, numbered."""
    listing = upcoming(session, line)
    lang = lang or survivor.lang
    if not listing:
        return say("groups_none", lang)
    items = []
    for n, (group, meeting) in enumerate(listing, start=1):
        mine = _active(session, group.id, meeting, survivor.phone_hash)
        signed = mine is not None and mine.status == SignupStatus.ACTIVE
        items.append(say("groups_item", lang, n=n, when=when_text(line, meeting, lang),
                         topic=group.topic, minutes=group.minutes,
                         language=LANG_NAMES.get(lang, LANG_NAMES["en"])[group.lang],
                         mark=say("groups_mark", lang) if signed else ""))
    return say("groups_list", lang, items="; ".join(items))


def _new_pin(session: Session, line: Line, group_id: int, meeting: Meeting) -> tuple[str, str]:
    while True:
        pin = f"{secrets.randbelow(10 ** PIN_DIGITS):0{PIN_DIGITS}d}"
        hashed = pin_hash(line, group_id, meeting.occurs_on, pin)
        taken = session.scalar(select(GroupSignup.id).where(
            GroupSignup.group_id == group_id, GroupSignup.occurs_on == meeting.occurs_on,
            GroupSignup.pin_hash == hashed))
        if taken is None:
            return pin, hashed


def join(session: Session, line: Line, survivor: Survivor, n: int, line_number: str) -> str:
    """``JOIN n``: sign up for meeting ``n`` of the list; the reply has the time, the
    number to call and the session PIN (or says politely why not)."""
    lang = survivor.lang
    listing = upcoming(session, line)
    if not 1 <= n <= len(listing):
        return say("group_no_such", lang, n=n)
    group, meeting = listing[n - 1]
    # The group row is the lock every sign-up for it takes: capacity holds under races.
    session.scalar(select(GroupSession).where(GroupSession.id == group.id).with_for_update())
    when = when_text(line, meeting, lang)
    signup = _active(session, group.id, meeting, survivor.phone_hash)
    if signup is not None and signup.status == SignupStatus.ACTIVE:
        return say("group_already", lang, topic=group.topic, when=when,
                   number=signup.line_number, pin=signup.pin_sealed)
    taken = session.scalar(select(func.count()).select_from(GroupSignup).where(
        GroupSignup.group_id == group.id, GroupSignup.occurs_on == meeting.occurs_on,
        GroupSignup.status == SignupStatus.ACTIVE)) or 0
    if taken >= group.capacity:
        return say("group_full", lang, topic=group.topic, when=when)
    pin, hashed = _new_pin(session, line, group.id, meeting)
    now = line.now()
    if signup is None:
        signup = GroupSignup(group_id=group.id, occurs_on=meeting.occurs_on,
                             survivor_id=survivor.id, phone_hash=survivor.phone_hash,
                             created_at=now)
        session.add(signup)
    signup.pin_hash, signup.pin_sealed, signup.line_number = hashed, pin, line_number
    signup.status, signup.cancelled_at, signup.created_at = SignupStatus.ACTIVE, None, now
    session.flush()
    remind_at = meeting.starts_at - timedelta(seconds=line.setting("PEERLINE_GROUP_REMINDER_S"))
    if remind_at > now:  # nearer than that, the reply itself is the reminder
        tasks.add(session, TaskKind.GROUP_REMIND, signup.id, now,
                  delay_s=(remind_at - now).total_seconds(),
                  dedupe_key=f"group_remind:{signup.id}")
    return say("group_joined", lang, topic=group.topic, when=when, number=line_number,
               pin=pin, n=n)


def leave(session: Session, line: Line, survivor: Survivor, n: int) -> str:
    """``LEAVE n``: cancel the sign-up for meeting ``n`` of the list."""
    lang = survivor.lang
    listing = upcoming(session, line)
    if not 1 <= n <= len(listing):
        return say("group_no_such", lang, n=n)
    group, meeting = listing[n - 1]
    signup = _active(session, group.id, meeting, survivor.phone_hash)
    if signup is None or signup.status != SignupStatus.ACTIVE:
        return say("group_not_signed", lang, n=n)
    signup.status, signup.cancelled_at = SignupStatus.CANCELLED, line.now()
    return say("group_left", lang, topic=group.topic, when=when_text(line, meeting, lang))


def remind_task(sessions: sessionmaker[Session], line: Line, signup_id: int | None) -> None:
    """Worker entry: text one sign-up its reminder (the dial-in and the PIN), once."""
    with sessions.begin() as session:
        signup = session.get(GroupSignup, signup_id)
        if signup is None or signup.status != SignupStatus.ACTIVE or not signup.group.active:
            return
        survivor = session.get(Survivor, signup.survivor_id)
        if survivor is None or survivor.opted_out:
            return
        if survivor.erased_at is not None and survivor.erased_at >= signup.created_at:
            # a quick exit since: a phone in the wrong hands shows nothing more
            signup.status, signup.cancelled_at = SignupStatus.CANCELLED, line.now()
            return
        listing = upcoming(session, line)
        found = [(i, m) for i, (g, m) in enumerate(listing, start=1)
                 if g.id == signup.group_id and m.occurs_on == signup.occurs_on]
        if not found:
            return  # over, or unscheduled meanwhile
        n, meeting = found[0]
        body = say("group_reminder", survivor.lang, topic=signup.group.topic,
                   when=when_text(line, meeting, survivor.lang), number=signup.line_number,
                   pin=signup.pin_sealed, n=n)
        outbox.queue_text(session, line, line.vault.decrypt(survivor.phone_enc),
                          signup.line_number, body, kind="group_reminder")
