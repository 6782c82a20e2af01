"""The Voicemails page: what waits (no number, no words), a callback assigned to a peer
(their phone rings; audited), a voicemail marked done (audited); the same from the CLI."""

from __future__ import annotations

from sqlalchemy import select

from peerline.models import AuditEntry, Call, Task, Voicemail
from peerline.people import roster

from .dashboard_helpers import post, signed_in

CALLER = "+15550199001"
ALEX = "+15550100001"
SAM = "+15550100002"


def leave_voicemail(svc, clock, sid_digit="7", crisis=False):
    with svc.sessions.begin() as session:
        call = Call(sid="CA" + sid_digit * 32, role="survivor", stage="done",
                    from_enc=svc.line.vault.encrypt(CALLER),
                    from_hash=svc.line.vault.hash(CALLER), line_number="+15550000001",
                    created_at=clock())
        session.add(call)
        session.flush()
        vm = Voicemail(call_id=call.id, status="new", lang="en", priority=int(crisis),
                       transcript="please call me back at home", duration_s=20,
                       created_at=clock())
        session.add(vm)
        session.flush()
        return vm.id


def add_volunteer(svc, name, phone, pin=None, lang="en"):
    with svc.sessions.begin() as session:
        return roster.add_volunteer(session, svc.line, name, phone, lang, pin=pin).id


def audit_rows(svc):
    with svc.sessions() as session:
        return [(a.actor, a.action, a.target, a.detail) for a in
                session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def voicemail(svc, vm_id):
    with svc.sessions() as session:
        return session.get(Voicemail, vm_id)


def test_the_page_lists_what_waits_crisis_first_without_numbers_or_words(app, svc, clock):
    first = leave_voicemail(svc, clock, "7")
    clock.advance(120)
    crisis = leave_voicemail(svc, clock, "8", crisis=True)
    viewer = signed_in(app, svc, "viewer")
    page = viewer.get("/dashboard/voicemails")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index(f'data-voicemail="{crisis}"') < html.index(f'data-voicemail="{first}"')
    assert "2 min" in html and "crisis" in html
    for secret in (CALLER, CALLER[2:], "0199001", "call me back", "Ring to call back"):
        assert secret not in html, secret


def test_assign_a_callback_rings_the_peer_and_is_audited(app, svc, clock):
    vm_id = leave_voicemail(svc, clock)
    no_pin = add_volunteer(svc, "Sam", SAM)
    alex = add_volunteer(svc, "Alex", ALEX, pin="2468")
    coord = signed_in(app, svc, "coordinator", "coord@example.org")
    page = coord.get("/dashboard/voicemails").get_data(as_text=True)
    assert f'<option value="{alex}">Alex</option>' in page
    assert f'value="{no_pin}"' not in page  # no PIN: the voicemail could not play
    add_volunteer(svc, "Marta", "+15550100004", pin="1357", lang="es")
    assert "Marta" not in coord.get("/dashboard/voicemails").get_data(as_text=True)
    path = f"/dashboard/voicemails/{vm_id}/assign"
    refused = post(coord, path, {"volunteer": str(no_pin)}, page="/dashboard/voicemails")
    assert refused.status_code == 400 and "has no PIN" in refused.get_data(as_text=True)
    assert post(coord, path, {"volunteer": "x"}, page="/dashboard/voicemails").status_code \
        == 400
    assert voicemail(svc, vm_id).status == "new"

    done = post(coord, path, {"volunteer": str(alex)}, page="/dashboard/voicemails")
    assert done.status_code == 302
    stored = voicemail(svc, vm_id)
    assert (stored.status, stored.volunteer_id) == ("calling", alex)
    with svc.sessions() as session:
        assert session.scalars(select(Task.kind).where(Task.ref_id == vm_id)).all() \
            == ["voice_callback"]
    assert ("coord@example.org", "callback.assign", f"voicemail #{vm_id}",
            f"volunteer #{alex}") in audit_rows(svc)
    html = coord.get("/dashboard/voicemails").get_data(as_text=True)
    assert "Alex is calling back" in html
    again = post(coord, path, {"volunteer": str(alex)}, page="/dashboard/voicemails")
    assert again.status_code == 400
    # A peer calling back now: not marked done from under them.
    busy = post(coord, f"/dashboard/voicemails/{vm_id}/done", page="/dashboard/voicemails")
    assert busy.status_code == 400 and voicemail(svc, vm_id).status == "calling"
    assert sum(1 for r in audit_rows(svc) if r[1].startswith("callback.")) == 1


def test_mark_done_with_a_note_is_audited(app, svc, clock):
    vm_id = leave_voicemail(svc, clock)
    coord = signed_in(app, svc, "coordinator", "coord@example.org")
    path = f"/dashboard/voicemails/{vm_id}/done"
    assert post(coord, path, {"note": "reached by text"},
                page="/dashboard/voicemails").status_code == 302
    stored = voicemail(svc, vm_id)
    assert stored.status == "done" and stored.done_at == clock()
    assert ("coord@example.org", "callback.done", f"voicemail #{vm_id}",
            "reached by text") in audit_rows(svc)
    html = coord.get("/dashboard/voicemails").get_data(as_text=True)
    assert f'data-voicemail="{vm_id}"' not in html
    assert f'data-voicemail-closed="{vm_id}"' in html
    assert post(coord, path, page="/dashboard/voicemails").status_code == 400


def test_viewers_and_forged_posts_change_nothing(app, svc, clock):
    vm_id = leave_voicemail(svc, clock)
    alex = add_volunteer(svc, "Alex", ALEX, pin="2468")
    viewer = signed_in(app, svc, "viewer")
    for path, data in ((f"/dashboard/voicemails/{vm_id}/assign", {"volunteer": str(alex)}),
                       (f"/dashboard/voicemails/{vm_id}/done", {})):
        assert post(viewer, path, data, page="/dashboard/voicemails").status_code == 403
    coord = signed_in(app, svc, "coordinator")
    for path in (f"/dashboard/voicemails/{vm_id}/assign", f"/dashboard/voicemails/{vm_id}/done"):
        assert coord.post(path, data={"volunteer": str(alex)}).status_code == 400
    assert voicemail(svc, vm_id).status == "new"
    assert not any(r[1].startswith("callback.") for r in audit_rows(svc))


def test_the_cli_assigns_and_closes_with_the_same_audit(app, svc, clock):
    first = leave_voicemail(svc, clock, "7")
    second = leave_voicemail(svc, clock, "8")
    alex = add_volunteer(svc, "Alex", ALEX, pin="2468")
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["voice", "callback", "--voicemail", str(first),
                             "--volunteer", str(alex)])
    assert ok.exit_code == 0, ok.output
    done = runner.invoke(args=["voice", "done", "--voicemail", str(second), "--note", "dup"])
    assert done.exit_code == 0, done.output
    assert runner.invoke(args=["voice", "done", "--voicemail", str(second)]).exit_code != 0
    rows = [r for r in audit_rows(svc) if r[1].startswith("callback.")]
    assert rows == [("cli", "callback.assign", f"voicemail #{first}", f"volunteer #{alex}"),
                    ("cli", "callback.done", f"voicemail #{second}", "dup")]
