"""The survivor's choice of peer: a short optional question after the first reply (and
again whenever they text ``PEER``), answered by a number or ``SKIP``; on a call, asked once
while the caller waits on hold and answered by a key (:func:`call_question`).

The answer is kept against the survivor's keyed phone hash (:class:`PeerChoice`), so a
returning texter is not asked again and can change it with ``PEER``. The question belongs
to the waiting conversation it was asked in (or, asked with none open, to the next one
the survivor starts within the hour); only a lone number in range or ``SKIP`` answers it,
and any other text is an ordinary message. Never asked in a crisis, never required.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Conversation, ConversationStatus, PeerChoice, Survivor
from peerline.models.attach import attached
from peerline.peer import tags
from peerline.people.lookup import choice_read_at_insert
from peerline.text import pairing
from peerline.text.texts import say

SKIP_WORDS = {"SKIP", "OMITIR", "SALTAR"}
#: On a call: keys 1-8 choose a tag (9 stays the hotline), 0 is no preference.
KEYPAD_MAX = 8
SKIP_KEY = "0"
#: How long a question asked with no conversation open waits for its answer.
QUESTION_WINDOW = timedelta(hours=1)


_MEMO = "peerline.peer_choice"


def _memo(session: Session) -> dict[str, PeerChoice | None]:
    """This transaction's answers of :func:`_row` (one text asks up to four times).

    Kept in ``session.info`` against the root transaction, so a later transaction of the
    same session reads again; :func:`_open` and :func:`forget` keep it true in between.
    """
    transaction = session.get_transaction()
    held = session.info.get(_MEMO)
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info[_MEMO] = held
    return held[1]


def _row(session: Session, survivor: Survivor) -> PeerChoice | None:
    """The survivor's row, if any: the memo's, else read by one prebuilt Core ``SELECT``
    (the ORM query was ~200 Python calls of a first text) and made the session's ORM
    object by :func:`attached` (the one it holds already, if any, pending changes and
    all). A peer choice the session changed and has not written is flushed first, as a
    query's autoflush would."""
    memo = _memo(session)
    if survivor.phone_hash not in memo:
        read, found = choice_read_at_insert(session, survivor.phone_hash)
        if read:  # read with the new survivor's insert (PostgreSQL): no second SELECT
            memo[survivor.phone_hash] = (None if found is None
                                         else attached(session, PeerChoice, found))
            return memo[survivor.phone_hash]
        if any(isinstance(obj, PeerChoice)
               for obj in (*session.new, *session.dirty, *session.deleted)):
            session.flush()
        found = session.connection().execute(
            _select_row(), {"phone_hash": survivor.phone_hash}).mappings().first()
        memo[survivor.phone_hash] = (None if found is None
                                     else attached(session, PeerChoice, found))
    return memo[survivor.phone_hash]


@cache
def _select_row() -> Any:
    """Every peer-choice column ``WHERE phone_hash = :phone_hash`` (built once)."""
    table = PeerChoice.__table__
    return select(table).where(table.c.phone_hash == bindparam("phone_hash"))


def _open(session: Session, line: Line, survivor: Survivor,
          conversation_id: int | None) -> None:
    """Open the question (for ``conversation_id``, or for none), open until answered.

    A survivor never asked gets their row by one prebuilt ``INSERT ... RETURNING id``
    (no unit-of-work flush: a first text's commit had nothing else to write), attached as
    the session's ORM object and kept in the memo; a twin's row inserted at the same
    moment fails it on the unique phone hash, as a flush did (the webhook retries once).
    """
    row = _row(session, survivor)
    now = line.now()
    if row is not None:
        row.asked_at, row.answered_at = now, None
        row.asked_conversation_id = conversation_id
        return
    values: dict[str, Any] = {"phone_hash": survivor.phone_hash, "tag": None, "asked_at": now,
                              "asked_conversation_id": conversation_id, "answered_at": None}
    values["id"] = session.connection().execute(_insert_row(), values).scalar_one()
    _memo(session)[survivor.phone_hash] = attached(session, PeerChoice, values)


@cache
def _insert_row() -> Any:
    table = PeerChoice.__table__
    return insert(table).returning(table.c.id)


def forget(session: Session, phone_hash: str) -> None:
    """Drop this transaction's memo of ``phone_hash`` (its row was deleted)."""
    _memo(session).pop(phone_hash, None)
    choice_read_at_insert(session, phone_hash)  # nor the row read with a survivor insert


def should_ask(session: Session, line: Line, survivor: Survivor) -> bool:
    """True for a survivor never asked (tags are configured)."""
    if not tags.configured(line):
        return False
    row = _row(session, survivor)
    return row is None or row.asked_at is None


def ask(session: Session, line: Line, survivor: Survivor,
        conversation: Conversation | None) -> str:
    """Open the question (for ``conversation``, or for none); returns its text."""
    options = tags.names(line, survivor.lang)
    if not options:
        return say("peer_no_tags", survivor.lang)
    _open(session, line, survivor, conversation.id if conversation is not None else None)
    listed = ", ".join(f"{n} {name}" for n, name in enumerate(options, start=1))
    return say("peer_question", survivor.lang, options=listed)


def pending(session: Session, line: Line, survivor: Survivor,
            conversation: Conversation | None) -> PeerChoice | None:
    """The open question a lone number would answer now, if any."""
    row = _row(session, survivor)
    if row is None or row.asked_at is None or row.answered_at is not None:
        return None
    if conversation is None:
        recent = row.asked_at >= line.now() - QUESTION_WINDOW
        return row if recent and row.asked_conversation_id is None else None
    if conversation.status != ConversationStatus.WAITING:
        return None
    return row if row.asked_conversation_id == conversation.id else None


def carry_to(session: Session, line: Line, survivor: Survivor,
             conversation: Conversation) -> bool:
    """A question asked with no conversation open now belongs to the one just started."""
    row = pending(session, line, survivor, None)
    if row is None:
        return False
    row.asked_conversation_id = conversation.id
    return True


def answer(session: Session, line: Line, survivor: Survivor, row: PeerChoice,
           conversation: Conversation | None, word: str) -> str | None:
    """Record a number or SKIP (returns the reply); None when ``word`` is neither."""
    options = tags.configured(line)
    if word in SKIP_WORDS:
        tag = None
    elif word.isascii() and word.isdigit() and 1 <= int(word) <= len(options):
        tag = options[int(word) - 1]
    else:
        return None
    row.tag, row.answered_at, row.asked_conversation_id = tag, line.now(), None
    if conversation is not None:
        conversation.match_until = None  # a new choice gets its own (short) extra wait
        pairing.request_pairing(session, line)
    if tag is None:
        return say("peer_skipped", survivor.lang)
    return say("peer_chosen", survivor.lang, tag=tags.name_of(line, tag, survivor.lang))


def call_question(session: Session, line: Line, survivor: Survivor,
                  conversation: Conversation, lang: str) -> list[str] | None:
    """On hold: the tags' names to offer by keypad (1..), opening the question for this
    call's ``conversation``; None when it is not to be asked (asked before, by text or on
    a call, or no tags). The caller checks the call (not withheld, no crisis heard)."""
    if not should_ask(session, line, survivor):
        return None
    options = tags.names(line, lang)[:KEYPAD_MAX]
    if not options:
        return None
    _open(session, line, survivor, conversation.id)
    return options


def call_answer(session: Session, line: Line, survivor: Survivor,
                conversation: Conversation, key: str, lang: str) -> str | None:
    """A key on hold while the question is open on this call: records it and returns the
    chosen tag's name ("" for no preference); None when the key does not answer it."""
    row = _row(session, survivor)
    if row is None or row.answered_at is not None or row.asked_conversation_id != conversation.id:
        return None
    options = tags.configured(line)[:KEYPAD_MAX]
    if key == SKIP_KEY:
        tag = None
    elif key.isascii() and key.isdigit() and 1 <= int(key) <= len(options):
        tag = options[int(key) - 1]
    else:
        return None
    row.tag, row.answered_at, row.asked_conversation_id = tag, line.now(), None
    return "" if tag is None else tags.name_of(line, tag, lang)
