"""The live board's on-shift and voicemail parts: free capacity (none on a break), a
peer on a call, voicemails waiting; still no words and no numbers."""

from __future__ import annotations

import re

from peerline.models import Call, Voicemail
from peerline.people import roster

from .dashboard_helpers import signed_in

ALEX = "+15550100001"
SAM = "+15550100002"


def add_volunteer(svc, name, phone, capacity=2):
    with svc.sessions.begin() as session:
        return roster.add_volunteer(session, svc.line, name, phone, "en", capacity).id


def on_shift_row(html, name):
    row = re.search(rf"<tr><td>{name}(.*?)</tr>", html, re.S)
    assert row, name
    return row.group(1)


def test_free_capacity_counts_nobody_on_a_break(app, svc, phones, clock):
    add_volunteer(svc, "Alex", ALEX, capacity=3)
    add_volunteer(svc, "Sam", SAM, capacity=2)
    phones.text(ALEX, "ON")
    phones.text(SAM, "ON")
    phones.work()
    viewer = signed_in(app, svc, "viewer")
    html = viewer.get("/dashboard/board").get_data(as_text=True)
    assert "on shift\n    (5 free)" in html
    phones.text(SAM, "BREAK 15")
    html = viewer.get("/dashboard/board").get_data(as_text=True)
    assert "on shift\n    (3 free)" in html
    assert "on break" in on_shift_row(html, "Sam") and "on break" not in on_shift_row(html,
                                                                                      "Alex")
    clock.advance(16 * 60)
    html = viewer.get("/dashboard/board").get_data(as_text=True)
    assert "on break" not in on_shift_row(html, "Sam")


def test_voicemails_waiting_show_on_the_board(app, svc, clock):
    with svc.sessions.begin() as session:
        call = Call(sid="CA" + "7" * 32, role="survivor", stage="done",
                    from_enc=svc.line.vault.encrypt("+15550199001"),
                    line_number="+15550000001", created_at=clock())
        session.add(call)
        session.flush()
        session.add(Voicemail(call_id=call.id, status="new", lang="es", priority=1,
                              transcript="llámame por favor", created_at=clock()))
    clock.advance(180)
    html = signed_in(app, svc, "viewer").get("/dashboard/board").get_data(as_text=True)
    assert 'data-board="voicemails">1<' in html
    row = re.search(r"<td>VM\d+</td><td>([^<]+)</td><td>([^<]+)</td>", html)
    assert row and row.groups() == ("3 min", "es")
    assert "llámame" not in html and "0199001" not in html
