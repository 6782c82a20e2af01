"""Offers in arrival order while offers time out around a pairing pass (issue 14's surge).

A pairing pass walks the waiting line head first. Other work commits while it walks: the
sweeper thread's backstop expires due offers, a second worker runs a PASS or an end. On
PostgreSQL (READ COMMITTED) every statement of the pass sees those commits, so a
volunteer freed mid-pass used to be offered a survivor further back, while the ones
ahead, already walked past, kept waiting without an offer. These tests make that commit
happen at a fixed point of a pass run by a real RQ SimpleWorker.
"""

from __future__ import annotations

from rq import SimpleWorker
from sqlalchemy import select, update

from peerline.delivery.sweeper import sweep
from peerline.models import Conversation, Offer, Task, Volunteer
from peerline.text import pairing

from .races import needs_postgres
from .test_text_line import ALEX, SAM, add_volunteer

KIM = "+15550100003"
SURVIVORS = [f"+1555029{n:04d}" for n in range(1, 6)]


def _conversation_ids(svc) -> list[int]:  # noqa: ANN001
    with svc.sessions() as session:
        return list(session.scalars(select(Conversation.id).order_by(*pairing.queue_order())))


def _offers(svc) -> list[tuple[int, int, str]]:  # noqa: ANN001
    """(conversation, volunteer, status) of every offer, oldest first."""
    with svc.sessions() as session:
        return [tuple(r) for r in session.execute(select(
            Offer.conversation_id, Offer.volunteer_id, Offer.status).order_by(Offer.id))]


def _run_queued_jobs(svc) -> None:  # noqa: ANN001
    """A real RQ SimpleWorker runs what is queued now (no sweeper pass first)."""
    SimpleWorker([svc.queue()], connection=svc.redis()).work(burst=True,
                                                            logging_level="WARNING")


def test_a_volunteer_freed_mid_pass_is_not_offered_a_later_survivor(
        phones, svc, clock, monkeypatch):
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX, capacity=1)
    sam = add_volunteer(svc, "Sam", SAM, capacity=1)
    add_volunteer(svc, "Kim", KIM, lang="es", capacity=1)
    for phone in (ALEX, SAM, KIM):
        phones.text(phone, "ON")
    # Two survivors get offers; two more wait behind them with nobody free.
    phones.in_turn(SURVIVORS[:4])
    s0, s1, s2, s3 = _conversation_ids(svc)
    first = {cid: vid for cid, vid, _ in _offers(svc)}
    assert set(first) == {s0, s1} and set(first.values()) == {alex, sam}

    # Both offers time out; before any worker notices, a Spanish-speaking survivor texts
    # (Kim is free for them), which asks for a pairing pass.
    clock.advance(61)
    phones.text(SURVIVORS[4], "hola, necesito hablar con alguien")
    real_candidates = pairing.candidates
    fired = []

    def candidates(session, line, conversation, *args, **kwargs):  # noqa: ANN001, ANN202
        if conversation.id == s3 and not fired:
            # The worker's sweeper thread expires the due offers and commits, while this
            # pass has walked past s0, s1 (offered) and s2 (nobody free) already.
            fired.append(sweep(svc))
        return real_candidates(session, line, conversation, *args, **kwargs)

    monkeypatch.setattr(pairing, "candidates", candidates)
    _run_queued_jobs(svc)  # the pass, then what the sweeper's commit queued
    assert fired and fired[0]["expired"] == 2  # the commit did land mid-pass
    monkeypatch.undo()
    phones.work()

    offers = _offers(svc)
    offered = [cid for cid, _, _ in offers]
    # Alex and Sam each get the one of s0, s1 they have not seen yet: the survivors who
    # waited longest come first. s2 and s3 (later) are not offered ahead of them.
    assert s3 not in offered and s2 not in offered, offers
    pending = {(cid, vid) for cid, vid, status in offers if status == "pending"}
    assert {(s0, {alex, sam}.difference({first[s0]}).pop()),
            (s1, {alex, sam}.difference({first[s1]}).pop())} <= pending


def test_a_pass_does_not_jump_a_waiting_survivor_whose_row_is_locked(phones, svc, clock):
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX, capacity=1)
    phones.text(ALEX, "ON")
    phones.text(SURVIVORS[0], "hi, I need to talk to someone")
    clock.advance(1)
    phones.text(SURVIVORS[1], "is anyone there")
    s0, s1 = _conversation_ids(svc)
    # Another transaction (the webhook of s0's next text, say) holds s0's row while the
    # pass runs: the pass must not hand Alex's one slot to s1 behind it.
    with svc.sessions.begin() as holder:
        holder.scalar(select(Conversation).where(Conversation.id == s0).with_for_update())
        _run_queued_jobs(svc)
        assert _offers(svc) == []
    phones.work()  # the pass runs again shortly
    assert _offers(svc) == [(s0, alex, "pending")]


def test_room_freed_mid_pass_without_a_request_still_gets_a_next_pass(
        phones, svc, clock, monkeypatch):
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX, capacity=1)
    add_volunteer(svc, "Sam", SAM, capacity=1)
    add_volunteer(svc, "Kim", KIM, lang="es", capacity=1)
    for phone in (ALEX, SAM, KIM):
        phones.text(phone, "ON")
    phones.in_turn(SURVIVORS[:3])
    s0, _s1, s2 = _conversation_ids(svc)
    phones.text(SURVIVORS[4], "hola, necesito hablar con alguien")  # asks for a pass
    real_candidates = pairing.candidates
    fired = []

    def candidates(session, line, conversation, *args, **kwargs):  # noqa: ANN001, ANN202
        if conversation.id == s2 and not fired:
            # Alex's offer closes in a transaction whose own request for a pass found
            # this one still pending (a conflict on its key): it asks for nothing now.
            with svc.sessions.begin() as other:
                fired.append(other.execute(
                    update(Offer).where(Offer.conversation_id == s0, Offer.volunteer_id == alex)
                    .values(status="passed", resolved_at=clock())).rowcount)
        return real_candidates(session, line, conversation, *args, **kwargs)

    monkeypatch.setattr(pairing, "candidates", candidates)
    _run_queued_jobs(svc)  # no sweeper: its backstop would hide a missing request
    assert fired == [1]
    assert (s2, alex, "pending") in _offers(svc)  # the next pass came and used the room


def test_a_match_wait_pass_stopped_at_a_locked_survivor_asks_for_another(phones, svc):
    """Found in an attack review: the pass run when a tag-match wait ends stopped at a
    locked waiting conversation, like every pass, but unlike the pairing job never ran
    again: the survivors behind it waited for the sweeper's backstop."""
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX, capacity=1)
    phones.text(SURVIVORS[0], "hi, I need to talk to someone")
    phones.text(SURVIVORS[1], "is anyone there")
    phones.work()  # nobody on shift: both wait, no pass is pending
    s0, s1 = _conversation_ids(svc)
    with svc.sessions.begin() as session:  # on shift without asking for a pass
        session.execute(update(Volunteer).where(Volunteer.id == alex).values(on_shift=True))
    with svc.sessions.begin() as holder:
        holder.scalar(select(Conversation).where(Conversation.id == s0).with_for_update())
        pairing.match_wait_task(svc.sessions, svc.line, s1)
        assert _offers(svc) == []
    with svc.sessions() as session:
        assert session.scalar(select(Task.id).where(Task.kind == "pair",
                                                    Task.status == "pending"))
    _run_queued_jobs(svc)  # the pairing job, no sweeper
    assert _offers(svc) == [(s0, alex, "pending")]
