"""Pairing: order, capacity, line-number pools, work conservation, and races."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from peerline.models import Conversation, Offer, Volunteer
from peerline.people import roster
from peerline.text import offers, pairing

from .helpers import LINE, LINE2, LINE3
from .races import needs_postgres
from .test_text_line import ALEX, SAM, add_volunteer

SURVIVORS = [f"+1555019{n:04d}" for n in range(1, 40)]


def accept_latest(phones, volunteer):
    number = phones.received(volunteer)[-1][0]
    phones.text(volunteer, "YES", to=number)
    return number


def test_parallel_conversations_use_different_line_numbers(phones, svc):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    phones.text(ALEX, "ON")
    used = []
    for survivor in SURVIVORS[:3]:
        phones.text(survivor, "hi")
        phones.work()
        used.append(accept_latest(phones, ALEX))
        phones.work()
    assert sorted(used) == sorted([LINE, LINE2, LINE3])
    for survivor, number in zip(SURVIVORS[:3], used, strict=True):
        phones.text(survivor, f"from {survivor[-4:]}")
        phones.work()
        assert phones.received(ALEX)[-1] == (number, f"from {survivor[-4:]}")
    # Replies on each line number reach the right person.
    for survivor, number in zip(SURVIVORS[:3], used, strict=True):
        phones.text(ALEX, f"to {survivor[-4:]}", to=number)
    phones.work()
    for survivor in SURVIVORS[:3]:
        assert phones.received(survivor)[-1] == (LINE, f"to {survivor[-4:]}")


def test_one_line_number_means_one_text_conversation_at_a_time(settings, clock):
    from peerline.app import create_app

    from .helpers import Phones

    settings["PEERLINE_NUMBERS"] = LINE
    app = create_app(dict(settings), clock=clock)
    from .conftest import _wipe

    _wipe(app)
    with app.app_context():
        phones = Phones(app, app.test_client())
        add_volunteer(phones.svc, "Alex", ALEX, capacity=3)
        phones.text(ALEX, "ON")
        phones.text(SURVIVORS[0], "one")
        phones.text(SURVIVORS[1], "two")
        phones.work()
        accept_latest(phones, ALEX)
        phones.work()
        offered = [b for b in phones.bodies(ALEX) if b.startswith("Offer")]
        assert len(offered) == 1
        phones.text(ALEX, "#END")
        phones.work()
        offered = [b for b in phones.bodies(ALEX) if b.startswith("Offer")]
        assert len(offered) == 2 and "two" in offered[-1]  # work-conserving: freed → next
    app.extensions["peerline"].engine.dispose()


def test_queue_order_crisis_then_requeued_then_arrival(phones, svc, clock):
    phones.text(SURVIVORS[0], "first")
    clock.advance(1)
    phones.text(SURVIVORS[1], "second")
    clock.advance(1)
    phones.text(SURVIVORS[2], "third")
    with svc.sessions.begin() as session:
        convs = session.scalars(select(Conversation).order_by(Conversation.id)).all()
        convs[2].priority = 1
        convs[1].front = True
    with svc.sessions() as session:
        order = session.scalars(select(Conversation.id).where(
            Conversation.status == "waiting").order_by(*pairing.queue_order())).all()
    assert order == [convs[2].id, convs[1].id, convs[0].id]


def test_fewest_active_then_longest_idle(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    add_volunteer(svc, "Sam", SAM, capacity=3)
    phones.text(SAM, "ON")
    clock.advance(10)
    phones.text(ALEX, "ON")
    phones.text(SURVIVORS[0], "one")
    phones.work()
    assert phones.bodies(SAM)[-1].startswith("Offer")  # Sam idle longest
    accept_latest(phones, SAM)
    phones.text(SURVIVORS[1], "two")
    phones.work()
    assert phones.bodies(ALEX)[-1].startswith("Offer")  # Alex has fewer live


def test_language_is_respected(phones, svc):
    add_volunteer(svc, "Alex", ALEX, lang="en")
    add_volunteer(svc, "Sam", SAM, lang="en,es")
    phones.text(ALEX, "ON")
    phones.text(SAM, "ON")
    replies = phones.replies(phones.text(SURVIVORS[0], "hola, necesito hablar con alguien"))
    assert "Hola" in replies[0]
    phones.work()
    assert not any(b.startswith("Offer") for b in phones.bodies(ALEX))
    assert "Spanish" in phones.bodies(SAM)[-1]


def test_racing_accepts_never_double_assign_or_overfill(svc, clock):
    """Many threads accept and pair at once; invariants hold after every race."""
    needs_postgres(svc)
    with svc.sessions.begin() as session:
        volunteers = [roster.add_volunteer(session, svc.line, f"V{i}", f"+1555010{i:04d}",
                                           "en", 2) for i in range(4)]
        for v in volunteers:
            v.on_shift = True
        ids = [v.id for v in volunteers]
        from peerline.people.lookup import get_or_create_survivor
        from peerline.text import conversations

        for number in SURVIVORS[:12]:
            survivor = get_or_create_survivor(session, svc.line, number, "en")
            conversations.start(session, svc.line, survivor, LINE)
        convs = session.scalars(select(Conversation.id)).all()
        # Every volunteer gets an offer for every conversation: the worst case.
        for cid in convs:
            for vid in ids:
                session.add(Offer(conversation_id=cid, volunteer_id=vid, line_number=LINE,
                                  status="pending", broadcast=True, created_at=clock(),
                                  expires_at=clock()))
    errors = []

    def accept_all(vid: int) -> None:
        for cid in convs:
            try:
                with svc.sessions.begin() as session:
                    offer = session.scalar(select(Offer).where(
                        Offer.volunteer_id == vid, Offer.conversation_id == cid))
                    volunteer = session.get(Volunteer, vid)
                    offers.accept(session, svc.line, volunteer, offer)
            except Exception as exc:  # noqa: BLE001 - a lost race may raise; count it
                errors.append(type(exc).__name__)

    threads = [threading.Thread(target=accept_all, args=(vid,)) for vid in ids for _ in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with svc.sessions() as session:
        per_volunteer = dict(session.execute(select(
            Conversation.volunteer_id, func.count()).where(Conversation.status == "active")
            .group_by(Conversation.volunteer_id)).all())
        accepted = session.execute(select(Offer.conversation_id, func.count()).where(
            Offer.status == "accepted").group_by(Offer.conversation_id)).all()
    assert all(count <= 2 for count in per_volunteer.values())
    assert sum(per_volunteer.values()) == 8  # 4 volunteers x capacity 2: all filled
    assert all(count == 1 for _, count in accepted)
    assert len(accepted) == 8
    assert set(errors) <= {"OperationalError"}
