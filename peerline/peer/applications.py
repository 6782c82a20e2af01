"""``VOLUNTEER``: an application to become a peer, by text, approved by a coordinator.

Three questions, one at a time (name, languages, availability), each answer sealed. An
application waits at most ``PEERLINE_APPLICATION_WINDOW_S`` for each answer, then lapses
(a later text is an ordinary message). Texts with crisis words are never taken as an
answer: the application is dropped and the text goes the crisis way.

A coordinator approves on the dashboard or with ``applications approve ID``, but a
faked ``From`` could have applied for someone else's number, so approval takes two steps:
the line texts the applicant's phone a four-digit code, and only a reply of
``VOLUNTEER <code>`` from that phone within ``CONFIRM_WINDOW`` makes it an active
volunteer (off shift, without a voice PIN: the coordinator's approval is the sign that
their training is done; ``roster set-pin`` gives them the voice line). Until then the
volunteer row exists but is inactive (texts from the phone are still a survivor's) and
the application is ``confirming``. The code is a keyed hash of the application and the
approval time (nothing stored, as for shift codes in :mod:`peerline.scheduling.confirm`);
each wrong code counts toward the volunteer row's lock like a wrong PIN, and the lock
sends the application back to the coordinators (a new approval, a new code). Declining
texts a kind note. All of it is audited.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from peerline.delivery import outbox
from peerline.line import Line
from peerline.models import (
    Application,
    ApplicationStatus,
    ApplicationStep,
    Survivor,
    Volunteer,
)
from peerline.peer import forget
from peerline.people import pins, roster
from peerline.people.roster import RosterError
from peerline.staff import audit
from peerline.text import conversations
from peerline.text.texts import say

WORDS = {"VOLUNTEER", "VOLUNTARIO", "VOLUNTARIA"}
#: How long the applicant's phone has to text the code back after an approval.
CONFIRM_WINDOW = timedelta(hours=48)
_CONFIRMATION = re.compile(r"(?:VOLUNTEER|VOLUNTARIO|VOLUNTARIA)\s+(\d{4})")
#: Who confirms, in the audit log (the applicant's phone; never its number).
PHONE_ACTOR = "applicant's phone"
MAX_ANSWER = 300
_NEXT = {ApplicationStep.NAME: ApplicationStep.LANGUAGES,
         ApplicationStep.LANGUAGES: ApplicationStep.AVAILABILITY,
         ApplicationStep.AVAILABILITY: None}
_QUESTION = {ApplicationStep.NAME: "volunteer_ask_name",
             ApplicationStep.LANGUAGES: "volunteer_ask_languages",
             ApplicationStep.AVAILABILITY: "volunteer_ask_availability"}


def _latest(session: Session, survivor: Survivor, status: str) -> Application | None:
    return session.scalar(select(Application).where(
        Application.survivor_id == survivor.id, Application.status == status)
        .order_by(Application.id.desc()).limit(1))


def asking(session: Session, line: Line, survivor: Survivor) -> Application | None:
    """The application waiting for this survivor's next answer, if it has not lapsed."""
    row = _latest(session, survivor, ApplicationStatus.ASKING)
    window = timedelta(seconds=line.setting("PEERLINE_APPLICATION_WINDOW_S"))
    if row is None or row.updated_at < line.now() - window:
        return None
    return row


def start(session: Session, line: Line, survivor: Survivor, line_number: str) -> str:
    """``VOLUNTEER``: start (or resume) an application; returns the question to ask."""
    if _latest(session, survivor, ApplicationStatus.SUBMITTED) is not None:
        return say("volunteer_pending", survivor.lang)
    if _latest(session, survivor, ApplicationStatus.CONFIRMING) is not None:
        return say("volunteer_confirm_waiting", survivor.lang)
    row = asking(session, line, survivor)
    now = line.now()
    if row is None:
        cancel(session, line, survivor)  # a lapsed one
        row = Application(survivor_id=survivor.id, line_number=line_number,
                          lang=survivor.lang, status=ApplicationStatus.ASKING,
                          step=ApplicationStep.NAME, created_at=now, updated_at=now)
        session.add(row)
    row.updated_at = now
    return say(_QUESTION[ApplicationStep(row.step)], row.lang)


def answer(line: Line, row: Application, body: str) -> str:
    """Keep one answer (sealed) and ask the next question; the last one submits."""
    text = " ".join(body.split())[:MAX_ANSWER]
    step = ApplicationStep(row.step)
    setattr(row, step.value, text)
    row.updated_at = line.now()
    following = _NEXT[step]
    if following is None:
        row.status, row.step = ApplicationStatus.SUBMITTED, None
        return say("volunteer_submitted", row.lang)
    row.step = following
    return say(_QUESTION[following], row.lang)


def cancel(session: Session, line: Line, survivor: Survivor) -> int:
    """Drop applications still asking (lapsed, a crisis, a quick exit); returns how many.

    One prebuilt ``UPDATE`` (every crisis text asks, and almost none has one) unless the
    session holds an application, whose object the ORM path keeps true."""
    if not any(isinstance(obj, Application)
               for obj in (*session.identity_map.values(), *session.new)):
        return session.connection().execute(_cancel_asking(), {
            "who": survivor.id, "now": line.now()}).rowcount
    rows = session.scalars(select(Application).where(
        Application.survivor_id == survivor.id,
        Application.status == ApplicationStatus.ASKING)).all()
    for row in rows:
        row.status, row.step, row.updated_at = ApplicationStatus.CANCELLED, None, line.now()
    return len(rows)


@cache
def _cancel_asking() -> Any:
    table = Application.__table__
    return (update(table).where(table.c.survivor_id == bindparam("who"),
                                table.c.status == ApplicationStatus.ASKING)
            .values(status=ApplicationStatus.CANCELLED, step=None,
                    updated_at=bindparam("now", type_=table.c.updated_at.type)))


def submitted(session: Session) -> list[Application]:
    """Applications waiting for a coordinator, oldest first."""
    return list(session.scalars(select(Application).where(
        Application.status == ApplicationStatus.SUBMITTED).order_by(Application.id)))


def guess_languages(text: str | None, fallback: str) -> str:
    """Language codes from an applicant's own words (``English, Spanish`` → ``en,es``)."""
    words = (text or "").lower()
    codes = [code for code, stems in (("en", ("engl", "ingl")), ("es", ("span", "espa")))
             if any(stem in words for stem in stems)]
    return ",".join(codes) or fallback


def waiting_for_phone(session: Session) -> list[Application]:
    """Applications approved but not yet confirmed from the applicant's phone."""
    return list(session.scalars(select(Application).where(
        Application.status == ApplicationStatus.CONFIRMING).order_by(Application.id)))


def confirm_until(row: Application) -> datetime | None:
    """Until when the applicant's phone can confirm an approval (None: not approved)."""
    return row.decided_at + CONFIRM_WINDOW if row.decided_at is not None else None


def lapsed(line: Line, row: Application) -> bool:
    """True when an approval waited too long for the phone (it can be approved again)."""
    until = confirm_until(row)
    return row.status == ApplicationStatus.CONFIRMING and until is not None \
        and until <= line.now()


def code(line: Line, row: Application) -> str:
    """The four-digit code texted to the applicant's phone for this approval."""
    assert row.decided_at is not None
    digest = line.vault.hash(f"application-confirm:{row.id}:{row.volunteer_id}:"
                             f"{row.decided_at.isoformat()}")
    return f"{int(digest[:12], 16) % 10000:04d}"


def _decidable(session: Session, line: Line, application_id: int) -> Application:
    row = session.scalar(select(Application).where(Application.id == application_id)
                         .with_for_update())
    if row is None or not (row.status == ApplicationStatus.SUBMITTED or lapsed(line, row)):
        raise RosterError("no such application waiting for a decision")
    return row


def _pending_volunteer(session: Session, line: Line, number: str, name: str,
                       langs: str) -> Volunteer:
    """The inactive volunteer row this approval makes active once the phone confirms.

    Re-approving (after a lapse, a lock, a quick exit) reuses the row made for this phone
    by an earlier application that never became a volunteer."""
    earlier = session.scalar(select(Volunteer).where(
        Volunteer.phone_hash == line.vault.hash(number), Volunteer.active.is_(False),
        Volunteer.id.in_(select(Application.volunteer_id).where(
            Application.status != ApplicationStatus.APPROVED))).with_for_update())
    if earlier is None:
        volunteer = roster.add_volunteer(session, line, name, number, langs)
    else:
        volunteer = earlier
        volunteer.name, volunteer.languages = name, roster.parse_languages(langs)
    # Not on the roster yet: its texts stay a survivor's, it gets no offers or rings.
    volunteer.active = False
    pins.clear_locks(volunteer)
    session.flush()
    return volunteer


def approve(session: Session, line: Line, actor: str, application_id: int,
            languages: str | None = None) -> Volunteer:
    """Approve: text the applicant's phone a code; audited. The returned volunteer is
    inactive until that phone texts the code back (:func:`confirm`)."""
    row = _decidable(session, line, application_id)
    survivor = session.get(Survivor, row.survivor_id)
    if survivor is None:
        raise RosterError("the applicant is gone")
    if conversations.open_conversation(session, survivor.id) is not None:
        raise RosterError("the applicant is in a conversation right now; try again later")
    number = line.vault.decrypt(survivor.phone_enc)
    langs = languages or guess_languages(row.languages, row.lang)
    volunteer = _pending_volunteer(session, line, number,
                                   (row.name or "").strip()[:120] or "new peer", langs)
    row.status, row.volunteer_id = ApplicationStatus.CONFIRMING, volunteer.id
    row.decided_by, row.decided_at = actor[:254], line.now()
    row.updated_at = line.now()
    audit.record(session, line, actor, "application.approve", f"application #{row.id}",
                 f"volunteer #{volunteer.id} languages={volunteer.languages}; "
                 "waiting for the phone to confirm")
    outbox.text_survivor(session, line, survivor, row.line_number,
                         say("volunteer_confirm", row.lang, code=code(line, row),
                             hours=int(CONFIRM_WINDOW.total_seconds() // 3600)))
    return volunteer


def confirmation_code(word: str) -> str | None:
    """The code in ``VOLUNTEER 4821`` (or ``VOLUNTARIO``/``VOLUNTARIA``), else None."""
    match = _CONFIRMATION.fullmatch(word)
    return match.group(1) if match else None


def confirm(session: Session, line: Line, survivor: Survivor, given: str) -> str | None:
    """``VOLUNTEER 4821`` from the applicant's phone: the right code (in time) makes the
    approved applicant an active volunteer. Returns the reply; None when this phone has
    no application at all (the text goes the ordinary way)."""
    row = session.scalar(select(Application).where(
        Application.survivor_id == survivor.id,
        Application.status == ApplicationStatus.CONFIRMING)
        .order_by(Application.id.desc()).limit(1).with_for_update())
    if row is None or row.volunteer_id is None:
        if _latest(session, survivor, ApplicationStatus.SUBMITTED) is not None:
            return say("volunteer_pending", survivor.lang)  # e.g. sent back by the lock
        return None
    if lapsed(line, row):
        return say("volunteer_confirm_expired", row.lang)
    if conversations.open_conversation(session, survivor.id) is not None:
        return say("volunteer_confirm_later", row.lang)
    volunteer = session.scalar(select(Volunteer).where(Volunteer.id == row.volunteer_id)
                               .with_for_update())
    if volunteer is None:
        return None
    session.refresh(volunteer, ["code_failures", "code_failed_at", "code_locked_until"])
    if pins.code_locked(line, volunteer):
        return say("volunteer_confirm_locked", row.lang)
    if not hmac.compare_digest(code(line, row), given):
        if pins.count_code_failure(session, line, volunteer,
                                   "application_code_locked") is pins.Outcome.LOCKED:
            # Back to the coordinators: a new approval texts a new code.
            row.status, row.updated_at = ApplicationStatus.SUBMITTED, line.now()
            audit.record(session, line, PHONE_ACTOR, "application.confirm_locked",
                         f"application #{row.id}", f"volunteer #{volunteer.id}")
            return say("volunteer_confirm_locked", row.lang)
        return say("volunteer_confirm_wrong", row.lang)
    volunteer.active = True
    volunteer.code_failures, volunteer.code_failed_at = 0, None
    row.status, row.updated_at = ApplicationStatus.APPROVED, line.now()
    audit.record(session, line, PHONE_ACTOR, "application.confirm", f"application #{row.id}",
                 f"volunteer #{volunteer.id} is on the roster")
    return say("volunteer_approved", row.lang)


def decline(session: Session, line: Line, actor: str, application_id: int) -> Application:
    """Decline an application with a kind text; audited.

    One waiting for a decision, or an approval still waiting for the phone (lapsed or
    not: a coordinator may change their mind; the row lock orders this against the
    phone's confirmation). The inactive roster row such an approval made is deleted (it
    holds the applicant's name and number), and a code texted later is an ordinary text."""
    row = session.scalar(select(Application).where(Application.id == application_id)
                         .with_for_update())
    if row is None or row.status not in (ApplicationStatus.SUBMITTED,
                                          ApplicationStatus.CONFIRMING):
        raise RosterError("no such application waiting for a decision")
    if row.status == ApplicationStatus.CONFIRMING:
        forget.drop_pending_volunteers(session, Application.id == row.id)
    row.status, row.decided_by, row.decided_at = (ApplicationStatus.DECLINED, actor[:254],
                                                  line.now())
    audit.record(session, line, actor, "application.decline", f"application #{row.id}")
    survivor = session.get(Survivor, row.survivor_id)
    if survivor is not None:
        outbox.text_survivor(session, line, survivor, row.line_number,
                             say("volunteer_declined", row.lang))
    return row
