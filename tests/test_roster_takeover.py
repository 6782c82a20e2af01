"""`roster add` over a phone the roster already keeps inactive: a former volunteer's row
or an approval still waiting for the phone (attack review of 2026-12-05).

A phone number can change hands (carriers recycle them) and a coordinator adding a
number vouches for the person in front of them, not for whoever held it before: nothing
of a former volunteer's (shifts, groups they led, tags, caps, survivors who asked for
them with ``SAME``) may come back to the new holder."""

from __future__ import annotations

from sqlalchemy import select

from peerline.models import Application, Conversation, Shift, Survivor, Volunteer
from peerline.people import roster
from peerline.scheduling import shifts

from .dashboard_helpers import signed_in
from .test_groups import schedule
from .test_peer_admin import APPLICANT, apply_by_text, approve_on_dashboard, texted_code
from .test_text_line import ALEX, SURV, add_volunteer
from .test_voice_ivr import PIN, pin_call, set_pin

NEW_PIN = "1357"


def _holder(svc) -> Volunteer:
    """The active roster row for ALEX's phone."""
    with svc.sessions() as session:
        return session.scalar(select(Volunteer).where(
            Volunteer.phone_hash == svc.line.vault.hash(ALEX), Volunteer.active.is_(True)))


def test_roster_add_over_a_former_volunteer_revives_none_of_their_ties(app, phones, svc):
    """Alex led a group, held a weekly shift, had lived-experience tags and caps, and
    talked with SURV; Alex leaves the roster. The number is added again for "Bo": Bo
    starts blank (no shift, no group to lead, no tags, no caps), and SURV asking for
    the same peer again is never routed to Bo. Alex's history stays on Alex's row."""
    alex = add_volunteer(svc, "Alex", ALEX)
    set_pin(svc, ALEX, PIN)
    schedule(svc, in_minutes=5)  # a group led by Alex, open now
    with svc.sessions.begin() as session:
        person = session.get(Volunteer, alex)
        person.tags, person.cap_per_shift = "loss", 1
        shifts.add_for_phone(session, svc.line, "test", ALEX,
                             shifts.parse_when(svc.line, day="mon", on_date=None,
                                               start="09:00", end="13:00"))
    phones.pair(ALEX, SURV)
    phones.text(SURV, "#END")
    phones.work()
    phones.text(ALEX, "STOP")  # the carrier blocks the line's texts to this number now
    runner = app.test_cli_runner()
    gone = runner.invoke(args=["roster", "deactivate", str(alex)])
    assert gone.exit_code == 0, gone.output
    back = runner.invoke(args=["roster", "add", "--name", "Bo", "--phone", ALEX,
                               "--pin", NEW_PIN])
    assert back.exit_code == 0, back.output
    bo = _holder(svc)
    assert bo is not None and bo.name == "Bo"
    assert (bo.tags, bo.cap_per_shift, bo.cap_per_week) == ("", None, None)
    assert bo.opted_out  # the number's STOP holds for its new row (START lifts it)
    with svc.sessions() as session:
        assert shifts.list_shifts(session, bo.id) == []
        assert session.scalars(select(Shift.volunteer_id)).all() == [alex]  # Alex's
        assert session.get(Volunteer, alex).name == "Alex"
    # Bo calls with the new PIN: no group of Alex's to lead (its survivors' voices).
    leg, menu, call_id = pin_call(phones, ALEX, NEW_PIN)
    assert "lead your group" not in menu.said
    # SURV comes back and asks for the same peer: never Bo.
    phones.text(SURV, "hello again")
    phones.text(SURV, "SAME")
    with svc.sessions() as session:
        same = session.scalar(select(Conversation.same_peer_id).order_by(
            Conversation.id.desc()).limit(1))
    assert same != bo.id
    # The old PIN is gone with the old row.
    with svc.sessions() as session:
        assert session.get(Volunteer, alex).pin_hash is None



def test_roster_add_refuses_a_number_in_a_live_survivor_conversation(app, phones, svc):
    """Approval is refused while the applicant is in a conversation as a survivor; a
    coordinator's `roster add` of that number was not: the survivor's next words became
    volunteer commands (never reaching the peer talking with them)."""
    add_volunteer(svc, "Sam", "+15550100002")
    phones.pair("+15550100002", SURV)
    added = app.test_cli_runner().invoke(args=["roster", "add", "--name", "Pat",
                                               "--phone", SURV])
    assert added.exit_code != 0 and "conversation" in added.output, added.output
    with svc.sessions() as session:
        assert session.scalar(select(Volunteer.id).where(
            Volunteer.phone_hash == svc.line.vault.hash(SURV))) is None
    phones.text(SURV, "are you still there?")
    phones.work()
    assert phones.bodies("+15550100002")[-1].endswith("are you still there?")
    # Once the conversation is over, the number may be added.
    phones.text(SURV, "#END")
    with svc.sessions.begin() as session:
        roster.add_volunteer(session, svc.line, "Pat", SURV, take_over=True)


def test_an_approval_sent_back_by_its_code_lock_is_closed_by_roster_add(app, phones, svc):
    """An approval sent back to the coordinators by its code lock keeps its roster row.
    `roster add` put that row on the roster but left the application open, so once the
    volunteer later left the roster, the phone's quick exit (or retention) took the
    application for a never-confirmed one and deleted the volunteer's row, history and
    all, or rather failed on it: the quick exit hit a foreign-key error, was spooled
    and never ran, so the phone's words were never erased."""
    apply_by_text(phones)
    client = signed_in(app, svc, "coordinator", "coord@example.org")
    approve_on_dashboard(client, svc, phones)
    code = texted_code(phones)
    for wrong in [c for c in (f"{n:04d}" for n in range(10)) if c != code][:5]:
        phones.text(APPLICANT, f"VOLUNTEER {wrong}")
    with svc.sessions() as session:
        assert session.scalar(select(Application.status)) == "submitted"  # sent back
    runner = app.test_cli_runner()
    added = runner.invoke(args=["roster", "add", "--name", "Jordan", "--phone", APPLICANT])
    assert added.exit_code == 0, added.output
    with svc.sessions() as session:
        assert session.scalar(select(Application.status)) == "approved"
        vid = session.scalar(select(Volunteer.id))
    phones.pair(APPLICANT, SURV)  # Jordan's history
    phones.text(SURV, "#END")
    assert runner.invoke(args=["roster", "deactivate", str(vid)]).exit_code == 0
    response = phones.text(APPLICANT, "#ERASE")  # now texting as anyone does
    assert response.status_code == 200
    phones.work()
    with svc.sessions() as session:
        # The quick exit ran (it used to fail on the row's history and be spooled,
        # again and again: the phone's words were never erased).
        erased = session.scalar(select(Survivor.erased_at).where(
            Survivor.phone_hash == svc.line.vault.hash(APPLICANT)))
        assert erased is not None
        assert session.get(Volunteer, vid) is not None  # Jordan's history stays
        assert session.scalar(select(Conversation.volunteer_id)) == vid
