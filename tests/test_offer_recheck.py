"""A volunteer who answers a voice call or opts out (``STOP``) after a pairing pass or a
ring round ranked them, but before their row is locked, gets no offer, ring or dial.

The locked re-check (:func:`peerline.people.caps.may_offer_among` through
:func:`peerline.people.caps.reachable`) reads ``on_call`` and ``opted_out`` from the
locked row, so the guarantee is held by the lock, not by how quickly things happen. Each
test commits the change in another transaction at exactly that point (the volunteers
read, their row locks not taken yet), on PostgreSQL. The carrier's ``STOP`` (error 21610
on a status callback) sets ``opted_out`` without ending the shift, and pressing 1 on a
ring (or leading a group, or returning a voicemail) sets ``on_call``; a volunteer's own
``STOP`` text also ends their shift, which the lock saw already. The survivor is never
lost: offered to the next volunteer, or still waiting.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from peerline.delivery import tasks
from peerline.delivery.tasks import TaskKind
from peerline.handlers import HANDLERS
from peerline.models import (
    Conversation,
    Offer,
    OutboundMessage,
    Ring,
    Task,
    Voicemail,
    Volunteer,
)
from peerline.text import pairing
from peerline.voice import callback_admin, rings
from peerline.voice.volunteer_pin import lock_volunteer

from .races import needs_postgres, second_while_first_holds
from .test_pairing_bulk import BO, CALM, CRISIS, KIM, SURVIVORS, _on_shift_quietly, _waiting
from .test_text_line import ALEX, SAM, add_volunteer
from .test_voice import queued_caller, rings_to, volunteers_on
from .test_voice_ivr import PIN, set_pin, voicemail_left

#: What another transaction commits between the ranking and the row lock.
GONE = {"opted_out": {"opted_out": True},  # the carrier's STOP
        "on_call": {"on_call": True}}  # a voice call answered


def _commit_elsewhere(svc, volunteer_ids: list[int], values: dict) -> None:  # noqa: ANN001
    """Another transaction changes these volunteers and commits (nothing locks them yet)."""
    with svc.sessions.begin() as other:
        assert other.execute(update(Volunteer).where(Volunteer.id.in_(volunteer_ids))
                             .values(**values)).rowcount == len(volunteer_ids)


def _after_ranking(svc, monkeypatch, changes: list[tuple[list[int], dict]]  # noqa: ANN001
                   ) -> list[list[int]]:
    """Make the pass commit ``changes`` elsewhere once it has read who has room
    (:func:`pairing.room_now`), before it locks them; returns the ids it read.

    Since the pass locks its whole room at once (in id order, ARCHITECTURE.md "Row
    locks") and ranks under that lock, this is the window between reading a volunteer
    and locking them."""
    real = pairing.room_now
    seen: list[list[int]] = []

    def room_now(session, line):  # noqa: ANN001, ANN202
        room = real(session, line)
        if not seen:
            seen.append(sorted(room))
            for ids, values in changes:
                _commit_elsewhere(svc, ids, values)
        return room

    monkeypatch.setattr(pairing, "room_now", room_now)
    return seen


def _offers(svc) -> list[tuple[int, int]]:  # noqa: ANN001
    """(conversation, volunteer) of every offer ever made."""
    with svc.sessions() as session:
        return [tuple(r) for r in session.execute(
            select(Offer.conversation_id, Offer.volunteer_id).order_by(Offer.id))]


def _texts_to(svc, phone: str) -> list[str]:  # noqa: ANN001
    """Kinds of the texts stored for ``phone`` (before or after sending)."""
    with svc.sessions() as session:
        return list(session.scalars(select(OutboundMessage.kind).where(
            OutboundMessage.to_hash == svc.line.vault.hash(phone))))


def _pass(svc) -> int:  # noqa: ANN001
    with svc.sessions.begin() as session:
        return pairing.pair(session, svc.line)


@pytest.mark.parametrize("gone", sorted(GONE))
def test_a_volunteer_gone_after_ranking_gets_no_offer_and_the_next_one_does(
        phones, svc, monkeypatch, gone):
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX)
    sam = add_volunteer(svc, "Sam", SAM)
    phones.text(SURVIVORS[0], CALM)
    [calm] = _waiting(svc)
    _on_shift_quietly(svc, alex, sam)
    seen = _after_ranking(svc, monkeypatch, [([alex], GONE[gone])])

    assert _pass(svc) == 1
    assert seen == [[alex, sam]]  # Alex had room when the pass read them
    assert _offers(svc) == [(calm, sam)]
    monkeypatch.undo()
    phones.work()
    assert "offer" not in _texts_to(svc, ALEX) and phones.received(ALEX) == []
    assert [body for _, body in phones.received(SAM) if body.startswith("Offer:")]


@pytest.mark.parametrize("gone", sorted(GONE))
def test_the_only_volunteer_gone_after_ranking_leaves_the_survivor_waiting(
        phones, svc, monkeypatch, gone):
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX)
    phones.text(SURVIVORS[0], CALM)
    [calm] = _waiting(svc)
    _on_shift_quietly(svc, alex)
    seen = _after_ranking(svc, monkeypatch, [([alex], GONE[gone])])

    assert _pass(svc) == 0
    assert seen == [[alex]]
    assert _offers(svc) == [] and _texts_to(svc, ALEX) == []
    assert _waiting(svc) == [calm]  # still in the line, not lost
    monkeypatch.undo()
    with svc.sessions.begin() as session:  # back: the next pass offers it
        session.execute(update(Volunteer).where(Volunteer.id == alex)
                        .values(on_call=False, opted_out=False))
    assert _pass(svc) == 1 and _offers(svc) == [(calm, alex)]


def test_a_crisis_broadcast_skips_whoever_answered_a_call_or_opted_out_after_ranking(
        phones, svc, monkeypatch):
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX)
    sam = add_volunteer(svc, "Sam", SAM)
    kim = add_volunteer(svc, "Kim", KIM)
    phones.text(SURVIVORS[0], CRISIS)
    [crisis] = _waiting(svc)
    _on_shift_quietly(svc, alex, sam, kim)
    seen = _after_ranking(svc, monkeypatch,
                          [([alex], GONE["opted_out"]), ([sam], GONE["on_call"])])

    assert _pass(svc) == 1
    assert [sorted(ids) for ids in seen] == [sorted([alex, sam, kim])]
    assert _offers(svc) == [(crisis, kim)]
    monkeypatch.undo()
    phones.work()
    for phone in (ALEX, SAM):
        assert "offer" not in _texts_to(svc, phone)
        assert not any(body.startswith("CRISIS OFFER") for _, body in phones.received(phone))
    assert [b for _, b in phones.received(KIM) if b.startswith("CRISIS OFFER")]


def test_a_crisis_broadcast_with_everyone_gone_after_ranking_keeps_the_survivor_waiting(
        phones, svc, monkeypatch):
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX)
    bo = add_volunteer(svc, "Bo", BO)
    phones.text(SURVIVORS[0], CRISIS)
    [crisis] = _waiting(svc)
    _on_shift_quietly(svc, alex, bo)
    _after_ranking(svc, monkeypatch,
                   [([alex], GONE["on_call"]), ([bo], GONE["opted_out"])])

    assert _pass(svc) == 0
    assert _offers(svc) == []
    assert _texts_to(svc, ALEX) == [] and _texts_to(svc, BO) == []
    with svc.sessions() as session:
        assert session.get(Conversation, crisis).status == "waiting"


def _volunteer_id(svc, phone: str) -> int:  # noqa: ANN001
    with svc.sessions() as session:
        return session.scalar(select(Volunteer.id).where(
            Volunteer.phone_hash == svc.line.vault.hash(phone)))


def test_a_ring_round_skips_a_volunteer_who_opted_out_after_it_read_them(
        phones, svc, monkeypatch):
    """The carrier's STOP committed between ``eligible()`` and the ring's row lock."""
    needs_postgres(svc)
    volunteers_on(svc, (ALEX, "en"), (SAM, "en"))
    alex, sam = _volunteer_id(svc, ALEX), _volunteer_id(svc, SAM)
    queued_caller(phones)
    real = rings.eligible
    seen: list[list[int]] = []

    def eligible(session, line, lang, crisis=False):  # noqa: ANN001, ANN202
        people = real(session, line, lang, crisis)
        if not seen:
            seen.append([v.id for v in people])
            _commit_elsewhere(svc, [alex], GONE["opted_out"])
        return people

    monkeypatch.setattr(rings, "eligible", eligible)
    with svc.sessions.begin() as session:
        rings.ring_round(session, svc.line)
    monkeypatch.undo()
    assert seen == [[alex, sam]]
    with svc.sessions() as session:
        assert session.scalars(select(Ring.volunteer_id)).all() == [sam]


@pytest.mark.parametrize("gone", sorted(GONE))
def test_the_dialler_never_rings_a_volunteer_gone_since_the_round(phones, svc, gone):
    """A ring made, then the volunteer answers another call (a group they lead, a
    voicemail they return) or opts out before the dialling task runs: no call to their
    phone, the ring canceled, and another round asked for the caller."""
    needs_postgres(svc)
    volunteers_on(svc, (ALEX, "en"))
    alex = _volunteer_id(svc, ALEX)
    queued_caller(phones)
    with svc.sessions() as session:
        round_id = session.scalar(select(Task.id).where(Task.dedupe_key == "voice_ring"))
    assert tasks.run(svc.sessions, svc.line, round_id, HANDLERS) == "done"
    with svc.sessions() as session:
        ring_id = session.scalar(select(Ring.id).where(Ring.volunteer_id == alex))
        dial = session.scalar(select(Task.id).where(Task.kind == TaskKind.VOICE_DIAL))
    assert ring_id is not None and dial is not None
    _commit_elsewhere(svc, [alex], GONE[gone])

    assert tasks.run(svc.sessions, svc.line, dial, HANDLERS) == "done"
    assert rings_to(phones, ALEX) == []
    with svc.sessions() as session:
        assert session.get(Ring, ring_id).status == "canceled"
        assert session.scalar(select(Task.id).where(
            Task.dedupe_key == "voice_ring", Task.status == "pending")) is not None


# --- returning a voicemail: the same re-check under the locks ------------------------

def _voicemail_assigned_to_alex(phones, svc, clock) -> tuple[int, int]:  # noqa: ANN001
    """A voicemail waiting, Alex (on shift, a PIN): (voicemail id, Alex's id)."""
    voicemail_left(phones, svc, clock)
    volunteers_on(svc, (ALEX, "en"))
    set_pin(svc, ALEX, PIN)
    with svc.sessions() as session:
        return session.scalar(select(Voicemail.id)), _volunteer_id(svc, ALEX)


def _voicemail_waits_again(svc) -> None:  # noqa: ANN001
    with svc.sessions() as session:
        voicemail = session.scalar(select(Voicemail))
        assert (voicemail.status, voicemail.volunteer_id) == ("new", None)


@pytest.mark.parametrize("gone", ["on_call", "deactivated"])
def test_a_voicemail_callback_never_rings_a_volunteer_gone_since_the_assignment(
        phones, svc, clock, gone):
    """A coordinator rings Alex to return a voicemail; before the worker places the call
    he answers a survivor's call (or is deactivated). The worker reads his row again
    under its lock, as the dialler does for a ring: no call to his phone, and the
    voicemail waits for a callback again (nothing lost)."""
    needs_postgres(svc)
    voicemail_id, alex = _voicemail_assigned_to_alex(phones, svc, clock)
    with svc.sessions.begin() as session:
        callback_admin.assign(session, svc.line, "coordinator", voicemail_id, alex)
    _commit_elsewhere(svc, [alex], {"on_call": {"on_call": True},
                                    "deactivated": {"active": False}}[gone])
    phones.work()
    assert rings_to(phones, ALEX) == []
    _voicemail_waits_again(svc)


def test_a_voicemail_assignment_waits_for_a_volunteer_answering_a_call_and_is_refused(
        phones, svc, clock):
    """Alex presses 1 on a ring (his row locked, ``on_call`` set, not committed yet) as a
    coordinator assigns him a voicemail: the assignment read his row unlocked (free)
    and claimed the voicemail. It takes the voicemail's and his rows' locks first now,
    waits for the call's commit, and tells the coordinator he is on a call."""
    needs_postgres(svc)
    voicemail_id, alex = _voicemail_assigned_to_alex(phones, svc, clock)
    refused: list[str] = []

    def answering(session) -> None:  # noqa: ANN001 - ring_pressed: the volunteer's row
        session.execute(text("SET LOCAL lock_timeout = '20s'"))
        lock_volunteer(session, alex).on_call = True

    def assign() -> None:
        with svc.sessions.begin() as session:
            session.execute(text("SET LOCAL lock_timeout = '20s'"))
            try:
                callback_admin.assign(session, svc.line, "coordinator", voicemail_id, alex)
            except callback_admin.CallbackError as exc:
                refused.append(str(exc))

    assert second_while_first_holds(svc, answering, assign) == []
    assert refused == [f"volunteer #{alex} is on a call"]
    phones.work()
    assert rings_to(phones, ALEX) == []
    _voicemail_waits_again(svc)
