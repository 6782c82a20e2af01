"""Row locks taken in one global order (ARCHITECTURE.md, "Row locks"), so two paths that
meet on the same rows wait for each other instead of deadlocking (PostgreSQL would abort
one: a volunteer's ``YES`` lost to a 500, a task retried).

Each test holds the first path's locks in one transaction, runs the second path in
another thread until it is done or waits on a lock (``races.second_while_first_holds``),
then lets the first take its next lock: with the order broken that is a deadlock, and
one of the two fails.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from peerline.models import Conversation, Offer, Ring, Shift, ShiftSlot, Voicemail, Volunteer
from peerline.people import roster
from peerline.scheduling import auto
from peerline.text import endings, offers, pairing
from peerline.voice import rings
from peerline.voice.volunteer_pin import lock_volunteer

from .helpers import LINE
from .races import needs_postgres, second_while_first_holds
from .test_pairing_bulk import CALM, SURVIVORS, _on_shift_quietly
from .test_text_line import ALEX, SAM, add_volunteer
from .test_voice import BEA, CALLER, CALLER2, volunteers_on
from .test_voice import Survivor as VoiceCaller
from .test_voice_ivr import PIN, pin_call, set_pin, voicemail_left


def _in_thread(svc, work: Callable, errors: list[BaseException]) -> Callable[[], None]:  # noqa: ANN001
    """``work(session)`` in its own transaction (as a worker runs it); errors kept."""

    def run() -> None:
        try:
            with svc.sessions.begin() as session:
                session.execute(text("SET LOCAL lock_timeout = '20s'"))
                work(session)
        except (DBAPIError, threading.BrokenBarrierError) as exc:  # a deadlock
            errors.append(exc)

    return run


def _offers_made(svc, phones, *volunteers: int) -> dict[int, tuple[int, int]]:  # noqa: ANN001
    """One calm survivor waiting per volunteer, a pass: volunteer -> (offer, conversation)."""
    for number in SURVIVORS[:len(volunteers)]:
        phones.text(number, CALM)
    _on_shift_quietly(svc, *volunteers)
    with svc.sessions.begin() as session:
        assert pairing.pair(session, svc.line) == len(volunteers)
    with svc.sessions() as session:
        return {v: (o, c) for o, v, c in session.execute(
            select(Offer.id, Offer.volunteer_id, Offer.conversation_id))}


def _statuses(svc) -> dict[int, str]:  # noqa: ANN001
    with svc.sessions() as session:
        return dict(session.execute(select(Offer.id, Offer.status)).tuples().all())


def _yes_holding_offer(svc, volunteer_id: int, offer_id: int, conversation_id: int,  # noqa: ANN001
                       replies: list[str]) -> tuple[Callable, Callable]:
    """A volunteer's YES in two steps: :func:`offers.accept`'s first locks (the
    conversation, then the offer), then the whole of it (the volunteer's row next)."""

    def first(session) -> None:  # noqa: ANN001
        session.execute(text("SET LOCAL lock_timeout = '20s'"))
        pairing.lock_row(session, Conversation, conversation_id)
        pairing.lock_row(session, Offer, offer_id)

    def then(session) -> None:  # noqa: ANN001
        volunteer = session.get(Volunteer, volunteer_id)
        replies.append(offers.accept(session, svc.line, volunteer,
                                      session.get(Offer, offer_id)))

    return first, then


def test_the_expiry_sweep_skips_an_offer_being_accepted_and_never_deadlocks(phones, svc):
    """Found by the lock review: the sweep locked the due offers' volunteers first, then
    each offer; a YES holds the offer, then locks its volunteer. Now the sweep takes the
    offers first, skipping one being answered (its time-out comes again), and expires
    the rest."""
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX, capacity=1)
    sam = add_volunteer(svc, "Sam", SAM, capacity=1)
    made = _offers_made(svc, phones, alex, sam)
    with svc.sessions.begin() as session:  # both past their time-out
        session.execute(update(Offer).values(expires_at=svc.line.now()))
    (alex_offer, alex_conv), (sam_offer, _) = made[alex], made[sam]
    replies: list[str] = []
    errors: list[BaseException] = []
    first, then = _yes_holding_offer(svc, alex, alex_offer, alex_conv, replies)
    errors += second_while_first_holds(
        svc, first, _in_thread(svc, lambda s: endings.expire_offers(s, svc.line), errors),
        then=then)
    assert errors == []
    assert replies == [""]  # Alex's YES went through
    assert _statuses(svc) == {alex_offer: "accepted", sam_offer: "expired"}
    with svc.sessions() as session:
        assert session.get(Conversation, alex_conv).volunteer_id == alex


def test_a_third_miss_leaves_alone_the_offer_its_volunteer_is_accepting(phones, svc):
    """The third missed offer takes a volunteer off shift and withdraws their other open
    offers: it holds the volunteer's row then, so it must not wait for an offer a YES
    holds (that YES waits for the volunteer). The YES wins that one; nothing is lost."""
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX, capacity=2)
    for number in SURVIVORS[:2]:
        phones.text(number, CALM)
    _on_shift_quietly(svc, alex)
    with svc.sessions.begin() as session:
        assert pairing.pair(session, svc.line) == 2
        session.execute(update(Volunteer).where(Volunteer.id == alex)
                        .values(missed_offers=offers.MISSED_OFFERS_LIMIT - 1))
    with svc.sessions() as session:
        (missed, _), (kept, kept_conv) = session.execute(
            select(Offer.id, Offer.conversation_id).order_by(Offer.id)).all()
    with svc.sessions.begin() as session:
        session.execute(update(Offer).where(Offer.id == missed)
                        .values(expires_at=svc.line.now()))
    replies: list[str] = []
    errors: list[BaseException] = []
    first, then = _yes_holding_offer(svc, alex, kept, kept_conv, replies)
    errors += second_while_first_holds(
        svc, first, _in_thread(svc, lambda s: offers.expire(
            s, svc.line, s.get(Offer, missed)), errors), then=then)
    assert errors == []
    assert replies == [""]
    assert _statuses(svc) == {missed: "expired", kept: "accepted"}
    with svc.sessions() as session:
        assert session.get(Volunteer, alex).on_shift is False  # the third miss counted
        assert session.get(Conversation, kept_conv).volunteer_id == alex


#: (conversations offered, callers rung), by language, in the order each path meets them.
ORDERS = {"round_out_of_order": (("en", "es"), ("es", "en")),
          "pass_out_of_order": (("es", "en"), ("en", "es"))}
HELLO = {"en": CALM, "es": "hola, necesito hablar con alguien"}
KEY = {"en": "1", "es": "2"}


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_a_pairing_pass_and_a_ring_round_at_once_wait_instead_of_deadlocking(
        phones, svc, monkeypatch, order):
    """README's "Left open" until this: a pass locked volunteers conversation by
    conversation and a ring round call by call, so not in id order across them. Alex
    speaks English, Bea (a higher id) Spanish; one of the two paths meets Bea's language
    first. Both stop (a barrier) once past their first conversation or caller: with
    locks taken along the way, each held the volunteer the other wanted next (a
    deadlock). Each now locks all its volunteers first, in one statement in id order,
    so the second to lock waits for the first's commit, and both do their work."""
    needs_postgres(svc)
    texts, calls = ORDERS[order]
    alex = add_volunteer(svc, "Alex", ALEX, "en", capacity=1)
    bea = add_volunteer(svc, "Bea", BEA, "es", capacity=1)
    assert alex < bea
    for number, lang in zip(SURVIVORS, texts, strict=False):
        phones.text(number, HELLO[lang])
    with svc.sessions() as session:
        conversation = dict(session.execute(select(Conversation.lang, Conversation.id))
                            .tuples().all())
    assert sorted(conversation) == ["en", "es"]
    _on_shift_quietly(svc, alex, bea)
    for number, lang in zip((CALLER, CALLER2), calls, strict=True):
        caller = VoiceCaller(phones, number, LINE)
        caller.call()
        assert caller.choose(KEY[lang]).has("Enqueue")
    both_past_the_first = threading.Barrier(2, timeout=15)
    real_candidates, real_eligible = pairing.candidates, rings.eligible
    asked: list[str] = []

    def candidates(session, line, talk, *args, **kwargs):  # noqa: ANN001, ANN202
        if talk.id == conversation[texts[1]]:  # the pass offered the first one already
            both_past_the_first.wait()
        return real_candidates(session, line, talk, *args, **kwargs)

    def eligible(session, line, lang, crisis=False):  # noqa: ANN001, ANN202
        asked.append(lang)
        if len(asked) == 2:  # the round is past its first caller
            both_past_the_first.wait()
        return real_eligible(session, line, lang, crisis)

    monkeypatch.setattr(pairing, "candidates", candidates)
    monkeypatch.setattr(rings, "eligible", eligible)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_in_thread(svc, work, errors)) for work in (
        lambda s: pairing.pair(s, svc.line), lambda s: rings.ring_round(s, svc.line))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert asked == list(calls)
    with svc.sessions() as session:
        assert sorted(session.execute(select(Offer.conversation_id, Offer.volunteer_id))
                      .tuples().all()) == sorted([(conversation["en"], alex),
                                                  (conversation["es"], bea)])
        assert sorted(session.scalars(select(Ring.volunteer_id))) == [alex, bea]


def test_ivr_4_and_a_voicemail_assignment_at_once_never_deadlock(app, phones, svc, clock):
    """An assignment locks the voicemail, then its volunteer (the voicemail's order, as
    the callback's webhooks take them); a volunteer's IVR locks their own row, then
    claimed the first waiting voicemail, waiting for its lock. Alex pressing 4 while a
    coordinator assigns him that voicemail deadlocked. The IVR takes voicemails with
    SKIP LOCKED now: one being assigned is someone else's."""
    needs_postgres(svc)
    voicemail_left(phones, svc, clock)
    volunteers_on(svc, (ALEX, "en"))
    set_pin(svc, ALEX, PIN)
    leg, _, call_id = pin_call(phones)
    with svc.sessions() as session:
        voicemail_id = session.scalar(select(Voicemail.id))
        alex = session.scalar(select(Volunteer.id))
    said: list[str] = []

    def assignment_holds_the_voicemail(session) -> None:  # noqa: ANN001
        session.execute(text("SET LOCAL lock_timeout = '20s'"))
        session.execute(select(Voicemail.id).where(Voicemail.id == voicemail_id)
                        .with_for_update())

    def ivr_4() -> None:
        with app.app_context():
            said.append(leg.doc(f"/voice/volunteer/choice?call={call_id}", Digits="4").said)

    errors = second_while_first_holds(
        svc, assignment_holds_the_voicemail, ivr_4,
        then=lambda session: lock_volunteer(session, alex))  # the assignment goes on
    assert errors == []
    assert len(said) == 1 and "no voicemails waiting" in said[0]
    with svc.sessions() as session:
        assert session.scalar(select(Voicemail.status)) == "new"


def test_a_volunteers_off_and_their_yes_at_once_never_deadlock(phones, svc):
    """``OFF`` (by text, or 2 on the IVR) holds the volunteer's row, then withdrew their
    open offers one by one, waiting for each; a ``YES`` to one of them holds that offer
    and then waits for the volunteer. ``OFF`` withdraws with SKIP LOCKED now: the offer
    being accepted is left to the YES, which wins it."""
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX, capacity=1)
    (offer_id, conversation_id), = _offers_made(svc, phones, alex).values()
    replies: list[str] = []
    errors: list[BaseException] = []
    first, then = _yes_holding_offer(svc, alex, offer_id, conversation_id, replies)

    def off(session) -> None:  # noqa: ANN001 - the volunteer's own OFF
        roster.go_off_shift(session, svc.line, session.get(Volunteer, alex))

    errors += second_while_first_holds(svc, first, _in_thread(svc, off, errors), then=then)
    assert errors == []
    assert replies == [""]
    assert _statuses(svc) == {offer_id: "accepted"}
    with svc.sessions() as session:
        assert session.get(Volunteer, alex).on_shift is False
        assert session.get(Conversation, conversation_id).volunteer_id == alex


def test_a_scheduled_end_and_a_yes_at_once_never_deadlock(phones, svc, clock):
    """A shift's scheduled end for a volunteer still holding a conversation holds their
    row and withdrew their open offers one by one, as ``OFF`` did; a ``YES`` to one of
    them holds that offer and then waits for the volunteer. It withdraws through
    ``offers.withdraw_all`` now (SKIP LOCKED): the offer being accepted is left to it."""
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX, capacity=2)
    phones.pair(ALEX, SURVIVORS[0])  # a live conversation: the end asks for a handover
    phones.text(SURVIVORS[1], CALM)
    with svc.sessions.begin() as session:
        assert pairing.pair(session, svc.line) == 1
    with svc.sessions() as session:
        offer_id, conversation_id = session.execute(select(Offer.id, Offer.conversation_id)
                                                    .where(Offer.status == "pending")).one()
    clock.advance(1)  # the shift began after Alex's ON (an ON during it would keep them on)
    now = svc.line.now()
    with svc.sessions.begin() as session:
        shift = Shift(volunteer_id=alex, on_date=now.date(), start_time=now.time(),
                      end_time=now.time(), created_at=now)
        session.add(shift)
        session.flush()
        slot = ShiftSlot(shift_id=shift.id, volunteer_id=alex, starts_at=now, ends_at=now,
                         started_at=now, created_at=now)
        session.add(slot)
        session.flush()
        slot_id = slot.id
    replies: list[str] = []
    errors: list[BaseException] = []
    first, then = _yes_holding_offer(svc, alex, offer_id, conversation_id, replies)

    def end(session) -> None:  # noqa: ANN001 - the schedule's timer
        assert auto.end(session, svc.line, session.get(ShiftSlot, slot_id))

    errors += second_while_first_holds(svc, first, _in_thread(svc, end, errors), then=then)
    assert errors == []
    assert replies == [""]
    with svc.sessions() as session:
        assert session.get(Offer, offer_id).status == "accepted"
        assert session.get(Volunteer, alex).on_shift is False
        assert session.get(Conversation, conversation_id).volunteer_id == alex

