"""``VOLUNTEER``: an application to become a peer, by text, approved by a coordinator.

Three questions, one at a time (name, languages, availability), each answer sealed. An
application waits at most ``PEERLINE_APPLICATION_WINDOW_S`` for each answer, then lapses
(a later text is an ordinary message). Texts with crisis words are never taken as an
answer: the application is dropped and the text goes the crisis way.

A coordinator approves on the dashboard or with ``applications approve ID``: the
applicant goes on the roster as an active volunteer, off shift and without a voice PIN
(the coordinator's approval is the sign that their training is done; ``roster set-pin``
gives them the voice line), and is texted that they can text ``ON``. Declining texts a
kind note. Both are audited.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
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
from peerline.people import roster
from peerline.people.roster import RosterError
from peerline.staff import audit
from peerline.text import conversations
from peerline.text.texts import say

WORDS = {"VOLUNTEER", "VOLUNTARIO", "VOLUNTARIA"}
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
    """Drop applications still asking (lapsed, a crisis, a quick exit); returns how many."""
    rows = session.scalars(select(Application).where(
        Application.survivor_id == survivor.id,
        Application.status == ApplicationStatus.ASKING)).all()
    for row in rows:
        row.status, row.step, row.updated_at = ApplicationStatus.CANCELLED, None, line.now()
    return len(rows)


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


def _submitted(session: Session, application_id: int) -> Application:
    row = session.scalar(select(Application).where(Application.id == application_id)
                         .with_for_update())
    if row is None or row.status != ApplicationStatus.SUBMITTED:
        raise RosterError("no such application waiting for a decision")
    return row


def approve(session: Session, line: Line, actor: str, application_id: int,
            languages: str | None = None) -> Volunteer:
    """Put the applicant on the roster (active, off shift, no PIN), text them; audited."""
    row = _submitted(session, application_id)
    survivor = session.get(Survivor, row.survivor_id)
    if survivor is None:
        raise RosterError("the applicant is gone")
    if conversations.open_conversation(session, survivor.id) is not None:
        raise RosterError("the applicant is in a conversation right now; try again later")
    number = line.vault.decrypt(survivor.phone_enc)
    langs = languages or guess_languages(row.languages, row.lang)
    volunteer = roster.add_volunteer(session, line, (row.name or "").strip()[:120] or "new peer",
                                     number, langs)
    row.status, row.volunteer_id = ApplicationStatus.APPROVED, volunteer.id
    row.decided_by, row.decided_at = actor[:254], line.now()
    audit.record(session, line, actor, "application.approve", f"application #{row.id}",
                 f"volunteer #{volunteer.id} languages={volunteer.languages}")
    outbox.text_survivor(session, line, survivor, row.line_number,
                         say("volunteer_approved", row.lang))
    return volunteer


def decline(session: Session, line: Line, actor: str, application_id: int) -> Application:
    """Decline an application with a kind text; audited."""
    row = _submitted(session, application_id)
    row.status, row.decided_by, row.decided_at = (ApplicationStatus.DECLINED, actor[:254],
                                                  line.now())
    audit.record(session, line, actor, "application.decline", f"application #{row.id}")
    survivor = session.get(Survivor, row.survivor_id)
    if survivor is not None:
        outbox.text_survivor(session, line, survivor, row.line_number,
                             say("volunteer_declined", row.lang))
    return row
