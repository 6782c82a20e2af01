"""``flask --app wsgi roster …``: the volunteer roster (numbers masked, PINs never shown)."""

from __future__ import annotations

from typing import BinaryIO

import click
from flask.cli import AppGroup

from peerline.commands.common import services
from peerline.peer import tags as peer_tags
from peerline.people import caps, pins, roster_admin, roster_import
from peerline.people import roster as roster_domain
from peerline.people.phones import InvalidNumber, masked
from peerline.staff.audit import CLI_ACTOR

roster_cli = AppGroup("roster", help="The volunteer roster.")


@roster_cli.command("add")
@click.option("--name", required=True)
@click.option("--phone", required=True)
@click.option("--lang", default="en", show_default=True, help="Comma-separated: en,es")
@click.option("--capacity", type=int, default=None, help="Parallel text conversations.")
@click.option("--pin", default=None,
              help="Voice PIN, 4-12 digits (stored hashed). Prefer `roster set-pin`, "
                   "which prompts for it and keeps it out of shell history.")
def roster_add(name: str, phone: str, lang: str, capacity: int | None,
               pin: str | None) -> None:
    """Put a volunteer on the roster."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            vid = roster_admin.add(session, svc.line, CLI_ACTOR, name, phone, lang, capacity,
                                   pin=pin).id
    except (InvalidNumber, roster_domain.RosterError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"added volunteer #{vid} {name}" + (" with a PIN" if pin else
                                                   " (no PIN yet: roster set-pin)"))


@roster_cli.command("set-pin")
@click.option("--phone", required=True)
def roster_set_pin(phone: str) -> None:
    """Set a volunteer's voice PIN (asked twice, never shown); also lifts a PIN lock.
    Audited (never the PIN)."""
    def digits(value: str) -> str:
        try:
            return pins.check_format(value)
        except pins.PinError as exc:
            raise click.UsageError(str(exc)) from None

    svc = services()
    try:
        with svc.sessions() as session:  # a wrong phone fails before a PIN is asked
            roster_domain.find_by_phone(session, svc.line, phone)
        pin = click.prompt("New PIN (4-12 digits)", hide_input=True,
                           confirmation_prompt="Same PIN again", value_proc=digits)
        with svc.sessions.begin() as session:
            vid = roster_domain.find_by_phone(session, svc.line, phone).id
            roster_admin.set_pin(session, svc.line, CLI_ACTOR, vid, pin)
    except (InvalidNumber, roster_domain.RosterError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"PIN set for volunteer #{vid}")


@roster_cli.command("caps")
@click.option("--phone", required=True)
@click.option("--per-shift", type=click.IntRange(min=0), default=None,
              help="Conversations per shift (0 = no cap).")
@click.option("--per-week", type=click.IntRange(min=0), default=None,
              help="Conversations per seven days (0 = no cap).")
def roster_caps(phone: str, per_shift: int | None, per_week: int | None) -> None:
    """Set a volunteer's own wellbeing caps; an option left out follows the line's
    PEERLINE_CAP_PER_SHIFT / PEERLINE_CAP_PER_WEEK."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            volunteer = roster_domain.find_by_phone(session, svc.line, phone)
            caps.set_limits(volunteer, per_shift, per_week)
            shift, week = caps.limits(svc.line, volunteer)
            vid = volunteer.id
    except (InvalidNumber, roster_domain.RosterError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"volunteer #{vid}: at most {shift or 'any number of'} conversations per "
               f"shift, {week or 'any number'} per 7 days")


@roster_cli.command("list")
def roster_list() -> None:
    """Show the roster (numbers masked)."""
    svc = services()
    with svc.sessions() as session:
        people = roster_domain.list_volunteers(session)
        if not people:
            click.echo("the roster is empty")
        for v in people:
            phone = masked(svc.line.vault.decrypt(v.phone_enc))
            shift = "on shift" if v.on_shift else "off shift"
            state = "" if v.active else " (inactive)"
            pin = "PIN" if v.pin_hash else "no PIN"
            if v.pin_hash and pins.locked(svc.line, v):
                pin = "PIN locked"
            tags = ", ".join(f"{t} (not matched)" if t not in v.match_tags else t
                             for t in v.tag_list) or "no tags"
            click.echo(f"#{v.id}\t{v.name}\t{phone}\t{v.languages}\tcapacity {v.capacity}\t"
                       f"{shift}{state}\t{pin}\t{tags}")


@roster_cli.command("import")
@click.argument("file", type=click.File("rb"))
def roster_import_cmd(file: BinaryIO) -> None:
    """Add volunteers from a CSV file (header: name,phone,languages,capacity): every
    row is checked first, then all are added, or none."""
    svc = services()
    try:
        text = roster_import.decode(file.read())
        with svc.sessions.begin() as session:
            result = roster_import.import_csv(session, svc.line, CLI_ACTOR, text)
    except roster_import.ImportRejected as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(f"{len(exc.errors)} error(s); nothing imported") from None
    click.echo(f"imported {result.added} volunteers")


@roster_cli.command("edit")
@click.argument("volunteer_id", type=int)
@click.option("--name", default=None)
@click.option("--phone", default=None, help="A new phone number.")
@click.option("--lang", default=None, help="Comma-separated: en,es")
@click.option("--capacity", type=int, default=None)
def roster_edit(volunteer_id: int, name: str | None, phone: str | None, lang: str | None,
                capacity: int | None) -> None:
    """Change an active volunteer's name, phone, languages or capacity (the id is in
    `roster list`); what is left out stays. Audited."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            now = roster_admin.active(session, volunteer_id)
            roster_admin.edit(session, svc.line, CLI_ACTOR, volunteer_id,
                              name=now.name if name is None else name,
                              languages=now.languages if lang is None else lang,
                              capacity=now.capacity if capacity is None else capacity,
                              phone=phone or "")
    except roster_domain.RosterError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"saved volunteer #{volunteer_id}")


@roster_cli.command("deactivate")
@click.argument("volunteer_id", type=int)
def roster_deactivate(volunteer_id: int) -> None:
    """Take a volunteer off the roster (their live conversations go back to the queue).
    Audited."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            name = roster_admin.deactivate(session, svc.line, CLI_ACTOR, volunteer_id).name
    except roster_domain.RosterError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"deactivated volunteer #{volunteer_id} {name}")


@roster_cli.command("export")
def roster_export() -> None:
    """The active roster as CSV on stdout (numbers masked), as the dashboard exports it."""
    svc = services()
    with svc.sessions() as session:
        click.echo(roster_admin.export_csv(session, svc.line), nl=False)


@roster_cli.command("tags")
@click.option("--phone", required=True)
@click.option("--tags", "tag_text", default=None,
              help="Lived-experience tags, comma-separated, from PEERLINE_PEER_TAGS "
                   "(\"\" clears them); unchanged when left out.")
@click.option("--no-match-tags", "no_match", default=None,
              help="Those of the volunteer's tags not to be matched on (\"\" for none).")
def roster_tags(phone: str, tag_text: str | None, no_match: str | None) -> None:
    """Set a volunteer's lived-experience tags (audited); shows them when given none."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            volunteer = roster_domain.find_by_phone(session, svc.line, phone)
            if tag_text is not None or no_match is not None:
                off = no_match if no_match is not None else volunteer.no_match_tags
                volunteer = peer_tags.set_tags(
                    session, svc.line, CLI_ACTOR, volunteer.id,
                    tags=tag_text if tag_text is not None else volunteer.tags, no_match=off)
            vid, tags, off = volunteer.id, volunteer.tags, volunteer.no_match_tags
    except (InvalidNumber, roster_domain.RosterError, peer_tags.TagError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"volunteer #{vid} tags: {tags or '-'}; not matched on: {off or '-'}")
