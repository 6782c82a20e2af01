"""``flask --app wsgi schedule …``: the shift schedule from the command line (thin;
numbers masked as ``roster list`` masks them; every change audited as ``cli``)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from peerline.extensions import Services
from peerline.models import Volunteer
from peerline.people import roster
from peerline.people.phones import InvalidNumber, masked
from peerline.scheduling import shifts
from peerline.staff.audit import CLI_ACTOR

schedule_cli = AppGroup("schedule", help="The shift schedule (in PEERLINE_TIMEZONE).")


def _services() -> Services:
    return current_app.extensions["peerline"]


@schedule_cli.command("add")
@click.option("--phone", required=True, help="The volunteer's phone (on the roster).")
@click.option("--day", default=None, help="Every week on this day: mon..sun.")
@click.option("--date", "on_date", default=None, help="Once, on this date: YYYY-MM-DD.")
@click.option("--start", required=True, help="HH:MM, the line's local time.")
@click.option("--end", required=True, help="HH:MM; at or before --start ends the next day.")
def schedule_add(phone: str, day: str | None, on_date: str | None, start: str,
                 end: str) -> None:
    """Schedule a volunteer: weekly (--day) or once (--date)."""
    svc = _services()
    try:
        with svc.sessions.begin() as session:
            when = shifts.parse_when(svc.line, day=day, on_date=on_date, start=start, end=end)
            shift = shifts.add_for_phone(session, svc.line, CLI_ACTOR, phone, when)
            sid, text = shift.id, shifts.describe(shift)
    except shifts.ScheduleError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"added shift #{sid} {text} ({svc.line.setting('PEERLINE_TIMEZONE')})")


@schedule_cli.command("list")
@click.option("--phone", default=None, help="Only this volunteer's shifts.")
def schedule_list(phone: str | None) -> None:
    """Show the shifts (numbers masked)."""
    svc = _services()
    with svc.sessions() as session:
        volunteer_id = None
        if phone is not None:
            try:
                volunteer_id = roster.find_by_phone(session, svc.line, phone).id
            except (InvalidNumber, roster.RosterError) as exc:
                raise click.UsageError(str(exc)) from None
        rows = shifts.list_shifts(session, volunteer_id)
        if not rows:
            click.echo("no shifts scheduled")
        for shift in rows:
            volunteer = session.get(Volunteer, shift.volunteer_id)
            assert volunteer is not None
            number = masked(svc.line.vault.decrypt(volunteer.phone_enc))
            cancelled = shifts.cancelled_dates(session, shift.id)
            note = ("\tcancelled: " + ", ".join(map(str, cancelled))) if cancelled else ""
            click.echo(f"#{shift.id}\t{volunteer.name}\t{number}\t{shifts.describe(shift)}"
                       f"{note}")


@schedule_cli.command("remove")
@click.argument("shift_id", type=int)
def schedule_remove(shift_id: int) -> None:
    """Remove a shift (every future occurrence)."""
    svc = _services()
    try:
        with svc.sessions.begin() as session:
            text = shifts.describe(shifts.remove_shift(session, svc.line, CLI_ACTOR, shift_id))
    except shifts.ScheduleError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"removed shift #{shift_id} {text}")


@schedule_cli.command("cancel")
@click.argument("shift_id", type=int)
@click.option("--date", "on_date", required=True, help="The date to cancel: YYYY-MM-DD.")
def schedule_cancel(shift_id: int, on_date: str) -> None:
    """Cancel one date of a weekly shift (the other weeks stay)."""
    svc = _services()
    try:
        with svc.sessions.begin() as session:
            shifts.cancel_date(session, svc.line, CLI_ACTOR, shift_id, on_date)
    except shifts.ScheduleError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"cancelled shift #{shift_id} on {on_date.strip()}")
