"""The operators' commands: db upgrade, roster add / list."""

from __future__ import annotations

from sqlalchemy import select

from peerline.models import Volunteer


def test_db_upgrade_is_idempotent(app):
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "revision" in result.output


def test_roster_add_and_list(app, svc):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["roster", "add", "--name", "Ana", "--phone", "(555) 010-0042",
                                 "--lang", "en,es", "--capacity", "3"])
    assert result.exit_code == 0, result.output
    with svc.sessions() as session:
        volunteer = session.scalars(select(Volunteer)).one()
        assert svc.line.vault.decrypt(volunteer.phone_enc) == "+15550100042"
        assert volunteer.languages == "en,es" and volunteer.capacity == 3
        assert not volunteer.on_shift
    listing = runner.invoke(args=["roster", "list"]).output
    assert "Ana" in listing and "en,es" in listing
    assert "0100042" not in listing and "010-0042" not in listing


def test_roster_add_refuses_bad_input(app):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["roster", "add", "--name", "X", "--phone", "not a phone"])
    assert bad.exit_code != 0 and "phone" in bad.output
    runner.invoke(args=["roster", "add", "--name", "Ana", "--phone", "+15550100042"])
    dup = runner.invoke(args=["roster", "add", "--name", "Ana2", "--phone", "+1 555 010 0042"])
    assert dup.exit_code != 0 and "already" in dup.output
    lang = runner.invoke(args=["roster", "add", "--name", "Y", "--phone", "+15550100043",
                               "--lang", "fr"])
    assert lang.exit_code != 0 and "languages" in lang.output


def test_roster_list_empty(app):
    assert "empty" in app.test_cli_runner().invoke(args=["roster", "list"]).output


def test_voice_callback_commands(app, svc, clock):
    from peerline.models import Call, Voicemail
    from peerline.people import roster

    with svc.sessions.begin() as session:
        volunteer = roster.add_volunteer(session, svc.line, "Ana", "+15550100042")
        call = Call(sid="CA" + "7" * 32, role="survivor", stage="done",
                    line_number="+15550000001", created_at=clock())
        session.add(call)
        session.flush()
        session.add(Voicemail(call_id=call.id, status="new", lang="en", created_at=clock()))
        vid = volunteer.id
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["voice", "voicemails"]).output
    assert listing.startswith("#")
    vm_id = int(listing.split()[0][1:])
    no_pin = runner.invoke(args=["voice", "callback", "--voicemail", str(vm_id),
                                 "--volunteer", str(vid)])
    assert no_pin.exit_code != 0 and "has no PIN" in no_pin.output and "set-pin" in no_pin.output
    runner.invoke(args=["roster", "set-pin", "--phone", "+15550100042"], input="2468\n2468\n")
    ok = runner.invoke(args=["voice", "callback", "--voicemail", str(vm_id),
                             "--volunteer", str(vid)])
    assert ok.exit_code == 0 and "ringing" in ok.output
    again = runner.invoke(args=["voice", "callback", "--voicemail", str(vm_id),
                                "--volunteer", str(vid)])
    assert again.exit_code != 0
    assert "no voicemails waiting" in runner.invoke(args=["voice", "voicemails"]).output


def test_oncall_number_is_normalised_once_and_checked():
    import pytest

    from peerline.config import finalise, from_environment

    values = finalise({**from_environment({}), "PEERLINE_ONCALL_NUMBER": "(555) 010-9999"})
    assert values["PEERLINE_ONCALL_NUMBER"] == "+15550109999"
    with pytest.raises(ValueError, match="PEERLINE_ONCALL_NUMBER"):
        finalise({**from_environment({}), "PEERLINE_ONCALL_NUMBER": "not a phone"})
