"""Who is texting (``people/senders.identify``): one prebuilt statement, and a volunteer
found by it is the same tracked ORM object a query would give (changes are written,
nothing is loaded twice, an object the session holds is reused)."""

from __future__ import annotations

from sqlalchemy import event, select

from peerline.models import Volunteer
from peerline.people import roster
from peerline.people.lookup import get_or_create_survivor
from peerline.people.senders import identify


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
        assert {c.key: getattr(who.volunteer, c.key) for c in Volunteer.__table__.c} \
            == expected
        # every column came with the one statement: no lazy load (SQLite adds a BEGIN)
        assert len([s for s in seen if not s.startswith("BEGIN")]) == 1
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
