"""Peer support by text (issue 15): RESOURCES, the choice of peer and matching (with its
extra wait on the fake clock), SAME, feedback and its exclusions. Applications and the
dashboard are in test_peer_admin.py."""

from __future__ import annotations

from redis import Redis
from sqlalchemy import select, text

from peerline.delivery import tasks
from peerline.handlers import HANDLERS
from peerline.models import Conversation, Feedback, Offer, PeerChoice, Task
from peerline.peer import feedback
from peerline.peer import tags as peer_tags

from .helpers import LINE, Phones
from .test_text_line import ALEX, SAM, add_volunteer

SURV = "+15550199501"
SURV2 = "+15550199502"
QUESTION = "particular experience"
FEEDBACK = "how much did this conversation help"


def set_tags(svc, volunteer_id: int, tags: str, no_match: str = "") -> None:
    with svc.sessions.begin() as session:
        peer_tags.set_tags(session, svc.line, "test", volunteer_id, tags=tags,
                           no_match=no_match)


def offers(phones: Phones, number: str) -> list[tuple[str, str]]:
    return [(n, b) for n, b in phones.received(number) if "Offer" in b or "OFFER" in b]


def names_and_numbers_never_reach(phones: Phones, survivor: str) -> None:
    """No text to a survivor, immediate or sent, names a volunteer or carries a number."""
    for body in phones.bodies(survivor):
        for secret in ("Alex", "Sam", ALEX, SAM, ALEX[-7:], SAM[-7:]):
            assert secret not in body, body


def chose(phones: Phones, survivor: str, number: str) -> list[str]:
    """A survivor's first text and their answer to the optional question."""
    first = phones.replies(phones.text(survivor, "hi, I need to talk"))
    assert QUESTION in first[-1]
    return phones.replies(phones.text(survivor, number))


# --- RESOURCES -----------------------------------------------------------------------

def test_resources_lists_the_hotline_first_and_opens_no_conversation(phones, svc):
    reply = phones.replies(phones.text(SURV, "resources"))
    assert len(reply) == 1 and reply[0].startswith("If you are in danger")
    assert "988" in reply[0] and "RAINN" in reply[0] and "211" in reply[0]
    spanish = phones.replies(phones.text(SURV2, "Recursos."))
    assert spanish[0].startswith("Si estás en peligro") and "Más apoyo" in spanish[0]
    with svc.sessions() as session:
        assert session.scalars(select(Conversation)).all() == []


def test_resources_in_a_live_conversation_is_answered_and_not_relayed(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV)
    before = phones.bodies(ALEX)
    reply = phones.replies(phones.text(SURV, "RESOURCES"))
    assert "988" in reply[0]
    phones.work()
    assert phones.bodies(ALEX) == before  # the peer is not sent the word
    phones.text(SURV, "thanks")
    phones.work()
    assert phones.received(ALEX)[-1] == (number, "thanks")


def test_a_stopped_survivor_gets_no_resources(phones, svc):
    phones.text(SURV, "STOP")
    assert phones.replies(phones.text(SURV, "RESOURCES")) == []


# --- the choice of peer ----------------------------------------------------------------

def test_question_after_the_first_reply_once_answer_kept_sealed_and_changeable(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    reply = phones.replies(phones.text(SURV, "hello"))
    assert "peer support line" in reply[0] and QUESTION in reply[-1]
    assert "4 loss" in reply[-1] and "SKIP" in reply[-1]
    answer = phones.replies(phones.text(SURV, "4"))
    assert "lived through loss" in answer[0]
    with svc.sessions() as session:
        choice = session.scalar(select(PeerChoice))
        assert choice.tag == "loss"
        raw = session.execute(text("SELECT tag FROM peer_choices")).scalar()
        assert raw and "loss" not in raw  # sealed at rest
        conversation = session.scalar(select(Conversation))
    phones.text(SURV, "#END")
    phones.work()
    # A returning texter is not asked again; PEER asks again and changes it.
    again = phones.replies(phones.text(SURV, "hi it's me again"))
    assert not any(QUESTION in r for r in again)
    assert QUESTION in phones.replies(phones.text(SURV, "peer"))[0]
    assert "next free peer" in phones.replies(phones.text(SURV, "skip"))[0]
    with svc.sessions() as session:
        assert session.scalar(select(PeerChoice.tag)) is None
        kinds = session.scalars(text("SELECT kind FROM messages ORDER BY id")).all()
    assert conversation.id
    assert kinds.count("choice") == 2


def test_any_other_text_is_an_ordinary_message_and_crisis_is_never_asked(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.text(SURV, "hello")
    phones.text(SURV, "9")  # not an option: an ordinary message
    phones.work()
    assert '"9"' in offers(phones, ALEX)[-1][1]
    crisis = phones.replies(phones.text(SURV2, "I want to kill myself"))
    assert not any(QUESTION in r for r in crisis)


def test_in_a_live_conversation_peer_and_same_are_relayed(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV)
    assert phones.replies(phones.text(SURV, "same")) == []
    assert phones.replies(phones.text(SURV, "PEER")) == []
    phones.work()
    assert [b for n, b in phones.received(ALEX)[-2:]] == ["same", "PEER"]
    assert phones.received(ALEX)[-1][0] == number


# --- matching --------------------------------------------------------------------------

def test_a_matching_volunteer_is_preferred_and_told_why(phones, svc):
    sam = add_volunteer(svc, "Sam", SAM)
    alex = add_volunteer(svc, "Alex", ALEX)
    set_tags(svc, alex, "loss,combat")
    set_tags(svc, sam, "combat")
    phones.text(SAM, "ON")  # Sam is the longest idle: first without a choice
    phones.text(ALEX, "ON")
    chose(phones, SURV, "4")
    phones.work()
    assert offers(phones, SAM) == []
    assert "matched on: loss" in offers(phones, ALEX)[-1][1]
    names_and_numbers_never_reach(phones, SURV)


def test_no_match_waits_the_extra_time_then_anyone_suitable_even_after_redis_restart(
        phones, svc, clock):
    sam = add_volunteer(svc, "Sam", SAM)
    set_tags(svc, sam, "loss", no_match="loss")  # not to be matched on
    phones.text(SAM, "ON")
    chose(phones, SURV, "4")
    phones.work()
    assert offers(phones, SAM) == []
    # Work-conserving: someone else waiting (no choice) is offered meanwhile.
    phones.text(SURV2, "hi there")
    phones.work()
    assert len(offers(phones, SAM)) == 1 and "hi there" in offers(phones, SAM)[0][1]
    phones.text(SAM, "PASS", to=offers(phones, SAM)[0][0])
    phones.work()
    clock.advance(110)
    phones.work()
    assert len(offers(phones, SAM)) == 1
    Redis.from_url(svc.redis_url()).flushdb()  # the re-check is a task row, not a job
    with svc.sessions() as session:
        task = session.scalar(select(Task).where(Task.kind == "match_wait_over"))
        assert task is not None and task.status == "pending"
    clock.advance(11)
    # The task row alone re-checks (the sweeper's own backstop is not needed for it).
    assert tasks.run(svc.sessions, svc.line, task.id, HANDLERS) == "done"
    with svc.sessions() as session:
        assert session.scalar(select(Offer.status).where(
            Offer.conversation_id == task.ref_id)) == "pending"
    phones.work()
    late = offers(phones, SAM)
    assert len(late) == 2 and "need to talk" in late[-1][1] and "matched on" not in late[-1][1]


def test_the_extra_wait_is_a_setting(phones, svc, clock):
    svc.line.settings["PEERLINE_MATCH_WAIT_S"] = 0
    add_volunteer(svc, "Sam", SAM)
    phones.text(SAM, "ON")
    chose(phones, SURV, "2")
    phones.work()
    assert len(offers(phones, SAM)) == 1


def test_crisis_never_waits_for_a_match(phones, svc, clock):
    add_volunteer(svc, "Sam", SAM)
    phones.text(SAM, "ON")
    chose(phones, SURV, "4")
    phones.work()
    assert offers(phones, SAM) == []
    phones.text(SURV, "I want to die tonight")
    phones.work()
    assert "CRISIS OFFER" in offers(phones, SAM)[-1][1]


# --- SAME ------------------------------------------------------------------------------

def test_same_offers_the_last_peer_first_and_never_says_who(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    number = phones.pair(ALEX, SURV)
    phones.text(ALEX, "take care", to=number)
    phones.text(ALEX, "#END", to=number)
    phones.text(SAM, "ON")  # Sam has waited longest: first by the usual order
    phones.work()
    reply = phones.replies(phones.text(SURV, "Same"))
    assert "peer you talked with last time" in " ".join(reply)
    phones.work()
    assert offers(phones, SAM) == []
    assert "same peer as last time" in offers(phones, ALEX)[-1][1]
    names_and_numbers_never_reach(phones, SURV)


def test_same_when_the_last_peer_is_not_free_goes_to_the_next(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    number = phones.pair(ALEX, SURV)
    phones.text(ALEX, "#END", to=number)
    phones.text(ALEX, "OFF")
    phones.text(SAM, "ON")
    phones.work()
    reply = phones.replies(phones.text(SURV, "SAME"))
    assert "peer you talked with last time" in " ".join(reply)  # the same words either way
    phones.work()
    assert len(offers(phones, SAM)) == 1
    names_and_numbers_never_reach(phones, SURV)


# --- feedback ----------------------------------------------------------------------------

def test_feedback_after_end_is_recorded_sealed_thanked_and_not_relayed(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV)
    phones.text(ALEX, "#END", to=number)
    phones.work()
    assert FEEDBACK in phones.bodies(SURV)[-1]
    before = phones.bodies(ALEX)
    reply = phones.replies(phones.text(SURV, "4 helpful"))
    assert reply == ["Thank you for telling us. Text this number any time to talk again."]
    phones.work()
    assert phones.bodies(ALEX) == before
    with svc.sessions() as session:
        row = session.scalar(select(Feedback))
        assert (row.score, row.words) == (4, "helpful")
        raw = session.execute(text("SELECT words FROM feedback")).scalar()
        assert "helpful" not in raw
        assert len(session.scalars(select(Conversation)).all()) == 1
    # Answered once: a second digit is an ordinary text (a new conversation).
    phones.text(SURV, "5")
    with svc.sessions() as session:
        assert len(session.scalars(select(Conversation)).all()) == 2


def test_an_ordinary_text_after_the_question_starts_a_conversation(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV)
    phones.text(SURV, "#END")
    phones.work()
    assert FEEDBACK in phones.bodies(SURV)[-1]
    reply = phones.replies(phones.text(SURV, "3 more things happened today"))
    assert "peer support line" in reply[0]
    phones.text(SURV, "4")  # the question lapsed with the new conversation
    with svc.sessions() as session:
        assert session.scalar(select(Feedback.score)) is None
    assert number


def test_no_feedback_after_stop_crisis_or_erase(phones, svc):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    # STOP in a live conversation: nothing more is sent.
    phones.pair(ALEX, SURV)
    phones.text(SURV, "STOP")
    phones.work()
    assert not any(FEEDBACK in b for b in phones.bodies(SURV))
    # A crisis escalation in it: no question after #END.
    number = phones.pair(ALEX, SURV2)
    phones.text(SURV2, "I want to kill myself")
    phones.text(ALEX, "#END", to=number)
    phones.work()
    assert not any(FEEDBACK in b for b in phones.bodies(SURV2))
    # A quick exit.
    third = "+15550199503"
    phones.pair(ALEX, third)
    phones.text(third, "#ERASE")
    phones.work()
    assert not any(FEEDBACK in b for b in phones.bodies(third))
    with svc.sessions() as session:
        assert session.scalars(select(Feedback)).all() == []
        assert session.scalars(select(Offer)).all()


def test_an_opted_out_survivor_is_never_asked_even_after_an_ordinary_end(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    with svc.sessions.begin() as session:
        conversation = session.scalar(select(Conversation))
        conversation.survivor.opted_out = True  # e.g. STOP from a carrier path
        conversation.status, conversation.closed_reason = "closed", "ended_by_volunteer"
        assert feedback.ask(session, svc.line, conversation) is False
        conversation.survivor.opted_out = False
        assert feedback.ask(session, svc.line, conversation) is True


def test_help_lists_the_new_words(phones, svc):
    reply = phones.replies(phones.text(SURV, "HELP"))[0]
    for word in ("RESOURCES", "PEER", "SAME", "VOLUNTEER"):
        assert word in reply
    assert phones.replies(phones.text(SURV, "#END"))
    assert LINE


def test_the_choice_row_read_once_a_transaction_stays_true(svc) -> None:  # noqa: ANN001
    """The memo of the peer-choice row (one read a transaction) sees a row added in it,
    forgets a row the quick exit deleted, and is read afresh by the next transaction."""
    from peerline.peer import choice
    from peerline.peer.forget import forget
    from peerline.people.lookup import get_or_create_survivor

    with svc.sessions.begin() as session:
        survivor = get_or_create_survivor(session, svc.line, SURV, "en")
        assert choice._row(session, survivor) is None
        choice._open(session, svc.line, survivor, None)  # one INSERT, no flush
        added = choice._row(session, survivor)
        assert added is not None and added.asked_at == svc.line.now()
        assert added not in session.new and session.get(PeerChoice, added.id) is added
        added.answered_at = svc.line.now()  # a change to it is written as usual
    with svc.sessions.begin() as session:
        survivor = get_or_create_survivor(session, svc.line, SURV, "en")
        row = choice._row(session, survivor)
        assert row is not None and row.id == added.id and row.answered_at is not None
        forget(session, survivor)
        assert choice._row(session, survivor) is None
    with svc.sessions.begin() as session:
        session.add(PeerChoice(phone_hash=svc.line.vault.hash(SURV2)))
    session = svc.sessions()
    try:
        other = get_or_create_survivor(session, svc.line, SURV2, "en")
        assert choice._row(session, other) is not None
        session.execute(text("DELETE FROM peer_choices"))
        session.commit()
        assert choice._row(session, other) is None  # a new transaction reads again
    finally:
        session.close()


def test_the_choice_row_is_read_without_an_orm_query_as_the_sessions_object(svc) -> None:  # noqa: ANN001, E501
    """A survivor's peer-choice row is read by a prebuilt Core statement (no ORM query,
    ~200 Python calls of every first text): every column as stored (the tag unsealed),
    the session's tracked object (a change is written), the one it holds if any, and a
    change the session has not written yet is flushed before the read, as a query would."""
    from sqlalchemy import event

    from peerline.peer import choice
    from peerline.people.lookup import get_or_create_survivor

    with svc.sessions.begin() as session:
        session.add(PeerChoice(phone_hash=svc.line.vault.hash(SURV), tag="grief",
                               asked_at=svc.line.now(), asked_conversation_id=7))
    with svc.sessions() as session:
        stored = session.scalar(select(PeerChoice))
        expected = {c.key: getattr(stored, c.key) for c in PeerChoice.__table__.c}
    orm_queries: list[str] = []

    def query(state) -> None:  # noqa: ANN001
        orm_queries.append(str(state.statement)[:60])

    event.listen(svc.sessions, "do_orm_execute", query)
    try:
        with svc.sessions.begin() as session:
            survivor = get_or_create_survivor(session, svc.line, SURV, "en")
            row = choice._row(session, survivor)
            assert orm_queries == []
            assert {c.key: getattr(row, c.key) for c in PeerChoice.__table__.c} == expected
            assert session.get(PeerChoice, row.id) is row and not session.dirty
            row.answered_at = svc.line.now()  # written at commit as usual
    finally:
        event.remove(svc.sessions, "do_orm_execute", query)
    with svc.sessions.begin() as session:
        held = session.scalar(select(PeerChoice))
        assert held.answered_at == svc.line.now()
        assert session.scalar(text("SELECT tag FROM peer_choices")) != "grief"  # sealed
        survivor = get_or_create_survivor(session, svc.line, SURV, "en")
        other = get_or_create_survivor(session, svc.line, SURV2, "en")
        held.phone_hash = svc.line.vault.hash(SURV2)  # not flushed: the read must see it
        assert choice._row(session, survivor) is None
        assert choice._row(session, other) is held


def test_only_a_possible_answer_looks_for_a_feedback_question(phones, svc) -> None:  # noqa: ANN001
    """The feedback question is looked up only for a text that could answer it (a digit
    1-5): a survivor's ordinary first text costs no read of it."""
    from sqlalchemy import event

    seen: list[str] = []

    def statement(*args) -> None:  # noqa: ANN002
        seen.append(" ".join(args[2].split()))

    event.listen(svc.engine, "before_cursor_execute", statement)
    try:
        phones.text(SURV, "hi, I need someone to talk to")
        assert not any("FROM feedback" in s for s in seen)
        phones.text(SURV2, "4")  # might answer a question: looked for (there is none)
        assert any("FROM feedback" in s for s in seen)
    finally:
        event.remove(svc.engine, "before_cursor_execute", statement)


def test_a_new_survivors_choice_row_is_read_with_the_insert(phones, svc) -> None:  # noqa: ANN001
    """PostgreSQL: a new survivor's row and their kept peer-choice row (the number's
    answer from before, kept by its hash) come back from one statement; the answer is
    honoured (not asked again) with no second read of peer_choices."""
    from sqlalchemy import event

    from .races import needs_postgres

    needs_postgres(svc)
    add_volunteer(svc, "Alex", ALEX)
    with svc.sessions.begin() as session:
        session.add(PeerChoice(phone_hash=svc.line.vault.hash(SURV), tag="loss",
                               asked_at=svc.line.now(), answered_at=svc.line.now()))
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    event.listen(svc.engine, "before_cursor_execute", note)
    try:
        reply = phones.replies(phones.text(SURV, "hello, is anyone there"))
    finally:
        event.remove(svc.engine, "before_cursor_execute", note)
    assert reply and not any(QUESTION in r for r in reply)
    reads = [s for s in seen if "peer_choices" in s]
    assert len(reads) == 1 and reads[0].startswith("WITH s AS (INSERT INTO survivors")
    # Someone new, no row kept: asked, and still one statement for both.
    seen.clear()
    event.listen(svc.engine, "before_cursor_execute", note)
    try:
        reply = phones.replies(phones.text(SURV2, "hello, is anyone there"))
    finally:
        event.remove(svc.engine, "before_cursor_execute", note)
    assert QUESTION in reply[-1]
    reads = [s for s in seen if "peer_choices" in s and not s.startswith("INSERT INTO")]
    assert len(reads) == 1 and reads[0].startswith("WITH s AS (INSERT INTO survivors")
