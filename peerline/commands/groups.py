"""``flask --app wsgi groups …``: schedule group sessions (numbers never shown)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from peerline.commands.common import services
from peerline.groups import admin
from peerline.groups.schedule import ScheduleError, parse_date, parse_day
from peerline.staff.audit import CLI_ACTOR

groups_cli = AppGroup("groups", help="Group sessions by conference call.")


@groups_cli.command("add")
@click.option("--topic", required=True)
@click.option("--lang", type=click.Choice(admin.LANGS), required=True)
@click.option("--day", default=None, help="Weekly: mon..sun")
@click.option("--date", "on_date", default=None, help="Once: YYYY-MM-DD")
@click.option("--start", required=True, help="HH:MM in PEERLINE_TIMEZONE")
@click.option("--minutes", type=int, required=True)
@click.option("--capacity", type=int, required=True)
@click.option("--facilitator", required=True, help="The facilitating volunteer's phone")
@click.option("--muted/--unmuted", default=True, show_default=True,
              help="Participants join muted")
def groups_add(topic: str, lang: str, day: str | None, on_date: str | None, start: str,
               minutes: int, capacity: int, facilitator: str, muted: bool) -> None:
    """Schedule a group session (weekly with --day, once with --date)."""
    svc = services()
    try:
        weekday = parse_day(day) if day is not None else None
        when = parse_date(on_date) if on_date is not None else None
        with svc.sessions.begin() as session:
            group = admin.add_group(session, svc.line, topic=topic, lang=lang, day=weekday,
                                    on_date=when, start=start, minutes=minutes,
                                    capacity=capacity, facilitator_phone=facilitator,
                                    muted=muted, actor=CLI_ACTOR)
            gid = group.id
    except ScheduleError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"added group #{gid} {topic}")


@groups_cli.command("list")
def groups_list() -> None:
    """List scheduled group sessions."""
    with services().sessions() as session:
        rows = admin.list_groups(session)
    if not rows:
        click.echo("no groups scheduled")
    for r in rows:
        click.echo(f"#{r.id}\t{r.topic}\t{r.lang}\t{r.when} {r.start}\t{r.minutes} min\t"
                   f"capacity {r.capacity}\t{'muted' if r.muted else 'unmuted'}\t"
                   f"facilitator {r.facilitator}")


@groups_cli.command("remove")
@click.argument("group_id", type=int)
def groups_remove(group_id: int) -> None:
    """Unschedule a group; its sign-ups are cancelled."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            cancelled = admin.remove_group(session, svc.line, group_id, actor=CLI_ACTOR)
    except ScheduleError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"removed group #{group_id} ({cancelled} sign-up(s) cancelled)")
