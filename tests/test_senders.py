"""Who is texting (``people/senders.identify``): one prebuilt statement reading a few of a
volunteer's columns (NULL for a survivor), and a volunteer found by it is the same tracked
ORM object a query would give (the other columns load on first use, changes are written,
nothing is loaded twice, an object the session holds is reused)."""

from __future__ import annotations

from sqlalchemy import event, inspect, select

from peerline.models import Volunteer
from peerline.people import roster
from peerline.people.lookup import get_or_create_survivor
from peerline.people.senders import VOLUNTEER_COLUMNS, identify

from .helpers import LINE
from .test_text_line import ALEX, SURV, add_volunteer


def _statements(svc) -> list[str]:  # noqa: ANN001
    seen: list[str] = []
    event.listen(svc.engine, "before_cursor_execute",
                 lambda *args: seen.append(args[2]))
    return seen


def test_a_volunteer_is_found_whole_and_changes_to_them_are_written(svc):
    with svc.sessions.begin() as session:
        made = roster.add_volunteer(session, svc.line, "Robin", "+15558880101", "en, es",
                                    capacity=2, pin="2468")
        made.on_shift, made.shift_started_at = True, svc.line.now()
        made.tags = "grief"
    with svc.sessions.begin() as session:
        loaded = session.scalars(select(Volunteer).where(Volunteer.id == made.id)).one()
        expected = {c.key: getattr(loaded, c.key) for c in Volunteer.__table__.c}
    seen = _statements(svc)
    with svc.sessions.begin() as session:
        who = identify(session, svc.line, "+15558880101")
        assert who.volunteer is not None
        loaded = inspect(who.volunteer).dict  # what the one statement read, no more
        assert {k: loaded[k] for k in loaded if not k.startswith("_")} == {
            k: expected[k] for k in VOLUNTEER_COLUMNS}
        assert len([s for s in seen if not s.startswith("BEGIN")]) == 1  # (SQLite: BEGIN)
        assert {c.key: getattr(who.volunteer, c.key) for c in Volunteer.__table__.c} \
            == expected  # the others: loaded on first use, by one more statement
        assert len([s for s in seen if not s.startswith("BEGIN")]) == 2
        assert who.on_shift == {"en": 1, "es": 1}
        assert who.survivor_known is False
        assert session.get(Volunteer, made.id) is who.volunteer  # tracked, one copy
        who.volunteer.on_shift = False  # as OFF does
        who.volunteer.missed_offers = 3
    with svc.sessions.begin() as session:
        again = session.get(Volunteer, made.id)
        assert again.on_shift is False and again.missed_offers == 3
        assert again.tags == "grief" and again.pin_hash == expected["pin_hash"]


def test_the_sessions_own_copy_is_returned_with_its_pending_changes(svc):
    with svc.sessions.begin() as session:
        made = roster.add_volunteer(session, svc.line, "Sam", "+15558880102", "es")
    with svc.sessions.begin() as session:
        held = session.get(Volunteer, made.id)
        held.on_shift = True  # pending, not flushed: identify sees it (autoflush)
        who = identify(session, svc.line, "+15558880102")
        assert who.volunteer is held
        assert who.on_shift == {"en": 0, "es": 1}


def test_survivors_and_inactive_volunteers_are_not_volunteers(svc):
    with svc.sessions.begin() as session:
        gone = roster.add_volunteer(session, svc.line, "Former", "+15558880103", "en")
        gone.active, gone.on_shift = False, True
        get_or_create_survivor(session, svc.line, "+15557770104", "en")
    with svc.sessions.begin() as session:
        former = identify(session, svc.line, "+15558880103")
        survivor = identify(session, svc.line, "+15557770104")
        stranger = identify(session, svc.line, "+15557770105")
    assert former.volunteer is None and former.on_shift == {"en": 0, "es": 0}
    assert survivor.volunteer is None and survivor.survivor_known is True
    assert stranger.volunteer is None and stranger.survivor_known is False


def test_a_survivors_text_reads_no_volunteer_columns_but_a_few(svc):
    """Each column of a result costs the driver its description: a survivor's text (most
    texts) reads the counts, the survivor hint and :data:`VOLUNTEER_COLUMNS`, all NULL."""
    with svc.sessions.begin() as session:
        roster.add_volunteer(session, svc.line, "Kim", "+15558880106", "en")
        get_or_create_survivor(session, svc.line, "+15557770106", "en")
    widths: list[int] = []

    def described(_conn, cursor, *_args):  # noqa: ANN001, ANN202
        widths.append(len(cursor.description or ()))

    event.listen(svc.engine, "after_cursor_execute", described)
    try:
        with svc.sessions.begin() as session:
            who = identify(session, svc.line, "+15557770106")
    finally:
        event.remove(svc.engine, "after_cursor_execute", described)
    assert who.volunteer is None and who.survivor_known is True
    assert who.on_shift == {"en": 0, "es": 0}
    assert max(widths) == 3 + len(VOLUNTEER_COLUMNS) <= 8


def test_a_volunteers_text_is_still_theirs_and_a_survivors_still_a_survivors(phones, svc):
    """Through the webhook: a peer's relay and commands (which read and change columns
    the first statement did not load) act as the volunteer; a survivor's text from a
    number that is not a volunteer's starts a conversation."""
    volunteer_id = add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV)
    phones.text(ALEX, "I'm here, take your time", to=number)
    phones.work()
    assert phones.received(SURV)[-1] == (LINE, "I'm here, take your time")
    phones.text(SURV, "thanks")
    phones.work()
    assert phones.received(ALEX)[-1] == (number, "thanks")
    phones.text(ALEX, "#end", to=number)
    phones.work()
    assert "ended" in phones.bodies(ALEX)[-1]
    assert "off shift" in phones.replies(phones.text(ALEX, "OFF"))[0].lower()
    with svc.sessions() as session:
        volunteer = session.get(Volunteer, volunteer_id)
        assert volunteer.on_shift is False and volunteer.shift_started_at is None
    replies = phones.replies(phones.text("+15550199777", "hello, is anyone there?"))
    assert replies and "peer" in " ".join(replies).lower()
