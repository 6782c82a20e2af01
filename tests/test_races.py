"""Races that only a database with concurrent writers shows.

SQLite runs writes one at a time, so these tests need PostgreSQL: locally they skip with
a clear reason unless ``DATABASE_URL``/``TEST_DATABASE_URL`` names one; in CI (``CI``
set) they fail instead of skipping. Each one fails when its guard is removed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from peerline.models import Conversation, Message, Offer, ShiftSlot, Survivor, Volunteer
from peerline.people.lookup import get_or_create_survivor
from peerline.scheduling import claims, slots
from peerline.text import conversations, endings, intake, offers, pairing

from .helpers import LINE, Phones, new_sid
from .races import at_once, needs_postgres, second_while_first_holds
from .schedule_helpers import MONDAY, at, schedule
from .test_text_line import ALEX, add_volunteer

KIM = "+15550100003"

SURVIVOR = "+15550107001"


def _textsat_once(app, number: str, count: int) -> list[int]:  # noqa: ANN001
    """``count`` signed webhooks from ``number`` at the same moment; their status codes."""
    codes: list[int] = []

    def send(i: int) -> None:
        with app.app_context():
            codes.append(Phones(app, app.test_client()).text(number, f"text {i}").status_code)

    errors = at_once(count, send)
    assert not errors, errors
    return codes


def _open_conversations(svc, number: str) -> list[int]:  # noqa: ANN001
    with svc.sessions() as session:
        survivor_ids = session.scalars(select(Survivor.id).where(
            Survivor.phone_hash == svc.line.vault.hash(number))).all()
        assert len(survivor_ids) == 1
        return list(session.scalars(select(Conversation.id).where(
            Conversation.survivor_id == survivor_ids[0],
            Conversation.status.in_(conversations.OPEN))))


def test_returning_survivor_texting_eight_at_once_gets_one_conversation(app, svc, phones):
    needs_postgres(svc)
    for round_ in range(3):
        phones.text(SURVIVOR, "hello")
        assert phones.text(SURVIVOR, "#END").status_code == 200
        assert _open_conversations(svc, SURVIVOR) == []
        codes = _textsat_once(app, SURVIVOR, 8)
        assert codes == [200] * 8
        open_ = _open_conversations(svc, SURVIVOR)
        assert len(open_) == 1, f"round {round_}: {len(open_)} open conversations"
        with svc.sessions() as session:  # bodies are sealed: compare once read
            bodies = session.scalars(select(Message.body).where(
                Message.conversation_id == open_[0])).all()
        assert sum(1 for b in bodies if b and b.startswith("text ")) == 8


def test_a_new_survivors_first_texts_at_once_make_one_survivor(app, svc):
    needs_postgres(svc)
    codes = _textsat_once(app, SURVIVOR, 8)
    assert codes == [200] * 8
    assert len(_open_conversations(svc, SURVIVOR)) == 1


def test_intake_handles_one_survivors_texts_one_at_a_time(svc):
    """Without the row lock the losers of the race hit the unique index (or, without the
    index, open conversations of their own): the domain itself must serialise them."""
    needs_postgres(svc)
    with svc.sessions.begin() as session:
        get_or_create_survivor(session, svc.line, SURVIVOR, "en")

    def receive(i: int) -> None:
        with svc.sessions.begin() as session:
            intake.receive_sms(session, svc.line, sid=new_sid(), from_raw=SURVIVOR,
                               to_raw=LINE, body=f"text {i}")

    errors = at_once(8, receive)
    assert not errors, [type(e).__name__ for e in errors]
    assert len(_open_conversations(svc, SURVIVOR)) == 1


def test_the_database_refuses_a_second_open_conversation(svc):
    """The schema holds the invariant whatever the code does (both databases)."""
    with svc.sessions.begin() as session:
        survivor = get_or_create_survivor(session, svc.line, SURVIVOR, "en")
        conversations.start(session, svc.line, survivor, LINE)
        survivor_id = survivor.id
    with pytest.raises(IntegrityError), svc.sessions.begin() as session:
        survivor = session.get(Survivor, survivor_id)
        conversations.start(session, svc.line, survivor, LINE)
    with svc.sessions.begin() as session:  # a closed one does not count
        for conversation in session.scalars(select(Conversation)):
            conversation.status = "closed"
    with svc.sessions.begin() as session:
        conversations.start(session, svc.line, session.get(Survivor, survivor_id), LINE)


def test_the_database_refuses_a_second_bridge_for_a_call(svc, clock):
    """At most one accepted ring per call, whatever the code does (both databases)."""
    from peerline.models import Call, Ring
    from peerline.people.roster import add_volunteer

    with svc.sessions.begin() as session:
        volunteers = [add_volunteer(session, svc.line, f"V{i}", f"+1555010800{i}", "en", 1)
                      for i in range(2)]
        survivor = get_or_create_survivor(session, svc.line, SURVIVOR, "en")
        conversation = Conversation(survivor_id=survivor.id, channel="voice", status="call",
                                    lang="en", survivor_line=LINE, created_at=clock(),
                                    queued_at=clock())
        session.add(conversation)
        session.flush()
        call = Call(sid=new_sid("CA"), role="survivor", conversation_id=conversation.id,
                    line_number=LINE, lang="en", created_at=clock())
        session.add(call)
        session.flush()
        call_id, ids = call.id, [v.id for v in volunteers]
        session.add(Ring(call_id=call_id, volunteer_id=ids[0], line_number=LINE,
                         status="accepted", created_at=clock()))
        session.add(Ring(call_id=call_id, volunteer_id=ids[1], line_number=LINE,
                         status="taken", created_at=clock()))
    with pytest.raises(IntegrityError), svc.sessions.begin() as session:
        session.add(Ring(call_id=call_id, volunteer_id=ids[1], line_number=LINE,
                         status="accepted", created_at=clock()))


def test_one_volunteers_two_takes_at_once_stay_within_the_weekly_limit(svc, clock):
    """Kim has 16 h that week (limit 20) and takes two open 3 h shifts at the same time.
    The first take holds its transaction open; the second must wait for it (the
    volunteer's row is locked) and then count the first: without the lock it sees 16 h,
    takes the other shift too and Kim ends up at 22 h."""
    needs_postgres(svc)
    clock.now = at(MONDAY, 5)
    alex = add_volunteer(svc, "Alex", ALEX)
    kim = add_volunteer(svc, "Kim", KIM)
    for day in ("thu", "fri", "sat", "sun"):
        schedule(svc, kim, "08:00", "12:00", day=day)  # 16 h
    tue = schedule(svc, alex, "09:00", "12:00", on_date=str(MONDAY + timedelta(days=1)))
    wed = schedule(svc, alex, "09:00", "12:00", on_date=str(MONDAY + timedelta(days=2)))
    with svc.sessions.begin() as session:
        slots.ensure_ahead(session, svc.line, clock.now + timedelta(days=7))
        ids = [session.scalar(select(ShiftSlot.id).where(ShiftSlot.shift_id == s))
               for s in (tue, wed)]
        for slot_id in ids:
            slot = claims.swappable(session, svc.line, session.get(Volunteer, alex), slot_id)
            assert isinstance(slot, ShiftSlot)
            claims.swap(session, svc.line, session.get(Volunteer, alex), slot)
    replies: dict[str, str] = {}

    def second_take() -> None:
        with svc.sessions.begin() as session:
            replies["second"] = claims.take(session, svc.line, session.get(Volunteer, kim),
                                            ids[1])

    def first_take(session) -> None:  # noqa: ANN001
        replies["first"] = claims.take(session, svc.line, session.get(Volunteer, kim), ids[0])

    second_while_first_holds(svc, first_take, second_take)
    assert "It's yours" in replies["first"], replies
    assert "over 20 hours" in replies["second"], replies
    with svc.sessions() as session:
        held = session.scalars(select(ShiftSlot.id).where(ShiftSlot.volunteer_id == kim,
                                                          ShiftSlot.id.in_(ids))).all()
        assert held == [ids[0]]
        slot = session.get(ShiftSlot, ids[0])
        assert claims.week_hours(session, svc.line, kim, slot) == 19


def test_two_offers_expiring_at_once_both_count_as_missed(phones, svc, clock):
    """Alex lets two offers time out and two workers expire them at the same moment.
    Each read Alex's missed-offer count before the other committed; without a lock on
    Alex's row the second write is lost (1, not 2), and a volunteer who stopped
    answering stays on shift one miss too long."""
    needs_postgres(svc)
    alex = add_volunteer(svc, "Alex", ALEX, capacity=2)
    phones.text(ALEX, "ON")
    phones.in_turn(("+15550290001", "+15550290002"))
    with svc.sessions() as session:
        offer_ids = list(session.scalars(select(Offer.id).where(
            Offer.volunteer_id == alex).order_by(Offer.id)))
    assert len(offer_ids) == 2
    clock.advance(600)  # both offers are past their time-out

    def second_expiry() -> None:
        with svc.sessions.begin() as session:
            seen = session.get(Volunteer, alex)  # read (and held) before the first commits
            assert seen.missed_offers == 0
            offers.expire(session, svc.line, session.get(Offer, offer_ids[1]))

    second_while_first_holds(
        svc, lambda first: offers.expire(first, svc.line, first.get(Offer, offer_ids[0])),
        second_expiry)
    with svc.sessions() as session:
        assert session.get(Volunteer, alex).missed_offers == 2


def test_the_sweepers_offer_expiries_never_deadlock_with_a_pairing_pass(phones, svc, clock):
    """Found in an attack review: the sweeper's backstop expires every due offer in one
    transaction, locking each volunteer's row in turn (since the missed-offer count is
    locked), while a pairing pass locks the volunteers it offers to in its own order.
    The pass holding Kim and waiting for Alex, the sweep holding Alex and waiting for Kim:
    PostgreSQL killed one of them. The sweep now takes the free rows up front and leaves
    the others to the next sweep (or the offer's own time-out job)."""
    needs_postgres(svc)
    add_volunteer(svc, "Alex", ALEX, capacity=1)
    add_volunteer(svc, "Kim", KIM, capacity=1)
    phones.text(ALEX, "ON")
    phones.text(KIM, "ON")
    phones.in_turn(("+15550290001", "+15550290002"))
    with svc.sessions() as session:
        first_vid, second_vid = session.scalars(select(Offer.volunteer_id)
                                                .order_by(Offer.id)).all()
    clock.advance(600)  # both offers are past their time-out
    errors: list[BaseException] = []

    def sweep_expiries() -> None:
        try:
            with svc.sessions.begin() as session:
                session.execute(text("SET LOCAL lock_timeout = '20s'"))
                endings.expire_offers(session, svc.line)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)

    def pass_holds_the_second(session) -> None:  # noqa: ANN001
        session.execute(text("SET LOCAL lock_timeout = '20s'"))
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": pairing.PAIR_LOCK})
        pairing.lock_row(session, Volunteer, second_vid)  # offered to first

    errors += second_while_first_holds(  # then the pass's next one
        svc, pass_holds_the_second, sweep_expiries,
        then=lambda session: pairing.lock_row(session, Volunteer, first_vid))
    assert errors == []
    with svc.sessions() as session:  # the one held by the pass waits for the next sweep
        assert session.scalars(select(Offer.status).order_by(Offer.id)).all() == [
            "expired", "pending"]
    with svc.sessions.begin() as session:
        assert endings.expire_offers(session, svc.line) == 1
