"""``survivor_for`` reads or inserts the survivor with prebuilt Core statements and gives
the ORM's own object: tracked, every column as stored, locked, changes written."""

from __future__ import annotations

from sqlalchemy import event, inspect, select

from peerline.models import Survivor
from peerline.people.lookup import survivor_for

NUMBER = "+15557770501"


def columns(obj):
    return {name: getattr(obj, name) for name in inspect(Survivor).columns.keys()}


def test_new_and_known_survivors_without_orm_queries(svc):
    orm_queries: list[str] = []
    statements: list[str] = []

    def seen(state):
        orm_queries.append(str(state.statement)[:60])

    event.listen(svc.sessions, "do_orm_execute", seen)
    event.listen(svc.engine, "before_cursor_execute",
                 lambda *args: statements.append(" ".join(args[2].split())))
    try:
        with svc.sessions.begin() as session:
            made, created = survivor_for(session, svc.line, NUMBER, "es", known=False)
            assert created and inspect(made).persistent and not session.dirty
            assert session.get(Survivor, made.id) is made
            assert svc.line.vault.decrypt(made.phone_enc) == NUMBER and made.lang == "es"
            made.opted_out = True  # changed later in the request: an UPDATE
            first = columns(made)
        with svc.sessions.begin() as session:
            statements.clear()
            found, created = survivor_for(session, svc.line, NUMBER, "en")
            assert not created and found.id == first["id"]
            assert columns(found) == first and found.opted_out
            assert any(s.startswith("SELECT") and "survivors" in s for s in statements)
            if svc.engine.dialect.name == "postgresql":
                assert statements[-1].endswith("FOR UPDATE")  # one survivor's texts in turn
            held = session.get(Survivor, found.id)
            assert survivor_for(session, svc.line, NUMBER, "en")[0] is held is found
        assert orm_queries == []  # session.get found them in the identity map
    finally:
        event.remove(svc.sessions, "do_orm_execute", seen)
    with svc.sessions() as session:
        assert columns(session.scalar(select(Survivor))) == first


def test_a_survivor_the_session_holds_is_the_one_returned(svc):
    with svc.sessions.begin() as session:
        made, _ = survivor_for(session, svc.line, NUMBER, "en")
    with svc.sessions.begin() as session:
        held = session.scalar(select(Survivor))
        held.lang = "es"  # pending in this session
        found, created = survivor_for(session, svc.line, NUMBER, "en")
        assert found is held and found.lang == "es" and not created
    with svc.sessions() as session:
        assert session.scalar(select(Survivor.lang)) == "es"
