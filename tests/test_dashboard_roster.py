"""Roster work beyond add/edit/deactivate: a voice PIN reset from the dashboard (never
shown or logged, audited), a new phone, and the same operations from the CLI."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from peerline.models import AuditEntry, Volunteer
from peerline.people import pins, roster

from .dashboard_helpers import post, signed_in

ALEX = "+15550100001"
NEW_PIN = "97531"


def add_volunteer(svc, name="Alex", phone=ALEX, lang="en"):
    with svc.sessions.begin() as session:
        return roster.add_volunteer(session, svc.line, name, phone, lang).id


def audit_rows(svc):
    with svc.sessions() as session:
        return [(a.actor, a.action, a.target, a.detail) for a in
                session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def volunteer(svc, vid):
    with svc.sessions() as session:
        return session.get(Volunteer, vid)


def test_a_pin_reset_on_the_dashboard_sets_it_lifts_a_lock_and_shows_it_nowhere(
        app, svc, clock, caplog):
    caplog.set_level(logging.DEBUG)
    vid = add_volunteer(svc)
    with svc.sessions.begin() as session:
        session.get(Volunteer, vid).pin_locked_until = clock() + timedelta(hours=1)
    coord = signed_in(app, svc, "coordinator", "coord@example.org")
    page = coord.get("/dashboard/roster").get_data(as_text=True)
    assert "no PIN" in page and f"/dashboard/roster/{vid}" in page
    edit = f"/dashboard/roster/{vid}"
    assert "Set PIN" in coord.get(edit).get_data(as_text=True)

    differ = post(coord, f"{edit}/pin", {"pin": NEW_PIN, "again": "13579"}, page=edit)
    assert differ.status_code == 400 and "the two PINs differ" in differ.get_data(as_text=True)
    letters = post(coord, f"{edit}/pin", {"pin": "12ab", "again": "12ab"}, page=edit)
    assert letters.status_code == 400 and "digits" in letters.get_data(as_text=True)
    assert volunteer(svc, vid).pin_hash is None
    assert not any(r[1] == "volunteer.set_pin" for r in audit_rows(svc))

    done = post(coord, f"{edit}/pin", {"pin": NEW_PIN, "again": NEW_PIN}, page=edit)
    assert done.status_code == 302
    after = coord.get(edit).get_data(as_text=True)
    assert NEW_PIN not in after and 'data-pin="state">PIN<' in after
    stored = volunteer(svc, vid)
    assert pins.matches(svc.line, stored.pin_hash, NEW_PIN)
    assert stored.pin_locked_until is None and stored.pin_failures == 0
    assert ("coord@example.org", "volunteer.set_pin", f"volunteer #{vid}", "") \
        in audit_rows(svc)
    assert not any(NEW_PIN in " ".join(r) for r in audit_rows(svc))
    assert NEW_PIN not in caplog.text


def test_a_pin_reset_needs_an_editor_and_a_token(app, svc):
    vid = add_volunteer(svc)
    viewer = signed_in(app, svc, "viewer")
    data = {"pin": NEW_PIN, "again": NEW_PIN}
    assert post(viewer, f"/dashboard/roster/{vid}/pin", data).status_code == 403
    coord = signed_in(app, svc, "coordinator")
    assert coord.post(f"/dashboard/roster/{vid}/pin", data=data).status_code == 400
    assert post(coord, "/dashboard/roster/999/pin", data).status_code == 404  # no such one
    assert volunteer(svc, vid).pin_hash is None


def test_a_new_phone_is_checked_and_audited_without_digits(app, svc):
    vid = add_volunteer(svc)
    add_volunteer(svc, "Sam", "+15550100002")
    coord = signed_in(app, svc, "coordinator", "coord@example.org")
    edit = f"/dashboard/roster/{vid}"
    base = {"name": "Alex", "languages": "en", "capacity": "2"}
    taken = post(coord, edit, {**base, "phone": "(555) 010-0002"}, page=edit)
    assert taken.status_code == 400 and "already on the roster" in taken.get_data(as_text=True)
    bad = post(coord, edit, {**base, "phone": "12"}, page=edit)
    assert bad.status_code == 400 and "phone number" in bad.get_data(as_text=True)
    assert post(coord, edit, {**base, "phone": "(555) 010-0077"}, page=edit).status_code == 302
    with svc.sessions() as session:
        assert svc.line.vault.decrypt(session.get(Volunteer, vid).phone_enc) == "+15550100077"
    assert ("coord@example.org", "volunteer.edit", f"volunteer #{vid}", "phone changed") \
        in audit_rows(svc)
    assert "•••• 0077" in coord.get("/dashboard/roster").get_data(as_text=True)


def test_the_roster_cli_edits_deactivates_exports_each_audited(app, svc):
    runner = app.test_cli_runner()
    added = runner.invoke(args=["roster", "add", "--name", "Ana", "--phone", "+15550100042",
                                "--lang", "en,es"])
    assert added.exit_code == 0, added.output
    with svc.sessions() as session:
        vid = session.scalars(select(Volunteer.id)).one()
    edited = runner.invoke(args=["roster", "edit", str(vid), "--capacity", "4"])
    assert edited.exit_code == 0, edited.output
    stored = volunteer(svc, vid)
    assert (stored.name, stored.languages, stored.capacity) == ("Ana", "en,es", 4)
    bad = runner.invoke(args=["roster", "edit", str(vid), "--lang", "fr"])
    assert bad.exit_code != 0 and "languages" in bad.output
    bad = runner.invoke(args=["roster", "edit", str(vid), "--capacity", "11"])
    assert bad.exit_code != 0 and "capacity" in bad.output

    export = runner.invoke(args=["roster", "export"])
    assert export.exit_code == 0
    assert export.output.splitlines() == ["id,name,phone,languages,capacity,on_shift",
                                          f'{vid},Ana,•••• 0042,"en,es",4,no']
    pin = runner.invoke(args=["roster", "set-pin", "--phone", "+15550100042"],
                        input="2468\n2468\n")
    assert pin.exit_code == 0, pin.output

    gone = runner.invoke(args=["roster", "deactivate", str(vid)])
    assert gone.exit_code == 0 and "deactivated" in gone.output
    assert runner.invoke(args=["roster", "deactivate", str(vid)]).exit_code != 0
    assert runner.invoke(args=["roster", "edit", str(vid), "--name", "X"]).exit_code != 0
    assert runner.invoke(args=["roster", "export"]).output.count("\n") == 1
    rows = [r for r in audit_rows(svc) if r[0] == "cli"]
    assert [r[1] for r in rows] == ["volunteer.add", "volunteer.edit", "volunteer.set_pin",
                                    "volunteer.deactivate"]
    assert all(r[2] == f"volunteer #{vid}" for r in rows)
    assert rows[1][3] == "capacity: 2 → 4"
    assert not any("2468" in r[3] or "0042" in r[3] for r in rows)
