"""``flask --app wsgi schedule add | list | remove | cancel``: as DESIGN.md pins them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from peerline.models import AuditEntry, Shift

from .test_text_line import ALEX, SAM, add_volunteer


def run(app, *args):
    return app.test_cli_runner().invoke(args=["schedule", *args])


def test_add_list_cancel_and_remove(app, svc, clock):
    clock.now = datetime(2027, 1, 1, 12, 0)
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    weekly = run(app, "add", "--phone", "(555) 010-0001", "--day", "mon", "--start", "09:00",
                 "--end", "12:00")
    assert weekly.exit_code == 0, weekly.output
    assert "mon 09:00-12:00" in weekly.output and "America/New_York" in weekly.output
    once = run(app, "add", "--phone", SAM, "--date", "2027-01-05", "--start", "22:00",
               "--end", "02:00")
    assert once.exit_code == 0, once.output
    with svc.sessions() as session:
        ids = {s.weekday: s.id for s in session.scalars(select(Shift))}
    listing = run(app, "list").output
    assert "Alex" in listing and "Sam" in listing and "2027-01-05 22:00-02:00" in listing
    assert "0100001" not in listing and "010-0001" not in listing and "0100002" not in listing
    only_sam = run(app, "list", "--phone", SAM).output
    assert "Sam" in only_sam and "Alex" not in only_sam

    cancel = run(app, "cancel", str(ids[0]), "--date", "2027-01-11")
    assert cancel.exit_code == 0, cancel.output
    assert "cancelled: 2027-01-11" in run(app, "list").output
    removed = run(app, "remove", str(ids[0]))
    assert removed.exit_code == 0 and "removed shift" in removed.output
    assert "Alex" not in run(app, "list").output
    with svc.sessions() as session:
        actions = [a.action for a in session.scalars(select(AuditEntry).where(
            AuditEntry.actor == "cli").order_by(AuditEntry.id))]
    assert actions == ["shift.add", "shift.add", "shift.cancel_date", "shift.remove"]


def test_bad_input_is_a_usage_error_not_a_traceback(app, svc):
    add_volunteer(svc, "Alex", ALEX)
    cases = [
        (["add", "--phone", ALEX, "--start", "09:00", "--end", "10:00"], "either"),
        (["add", "--phone", ALEX, "--day", "mon", "--date", "2030-01-07", "--start", "09:00",
          "--end", "10:00"], "either"),
        (["add", "--phone", ALEX, "--day", "someday", "--start", "09:00", "--end", "10:00"],
         "mon"),
        (["add", "--phone", ALEX, "--day", "mon", "--start", "9", "--end", "10:00"], "HH:MM"),
        (["add", "--phone", "+15550100999", "--day", "mon", "--start", "09:00", "--end",
          "10:00"], "no volunteer"),
        (["add", "--phone", "not a phone", "--day", "mon", "--start", "09:00", "--end",
          "10:00"], "phone"),
        (["remove", "999"], "no shift"),
        (["cancel", "999", "--date", "2030-01-07"], "no shift"),
        (["list", "--phone", "+15550100999"], "no volunteer"),
    ]
    for args, message in cases:
        result = run(app, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "no shifts" in run(app, "list").output
