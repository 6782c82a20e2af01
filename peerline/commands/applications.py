"""``flask --app wsgi applications …``: applications to volunteer sent by text."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from peerline.commands.common import services
from peerline.peer import applications
from peerline.people.phones import InvalidNumber
from peerline.people.roster import RosterError
from peerline.staff.audit import CLI_ACTOR

applications_cli = AppGroup("applications", help="Applications to volunteer (VOLUNTEER).")


@applications_cli.command("list")
def applications_list() -> None:
    """Applications waiting for a decision (the applicants' own answers)."""
    svc = services()
    with svc.sessions() as session:
        rows = applications.submitted(session)
        confirming = applications.waiting_for_phone(session)
        if not rows and not confirming:
            click.echo("no applications waiting")
        for row in rows:
            click.echo(f"#{row.id}\t{row.name}\tlanguages: {row.languages}\t"
                       f"availability: {row.availability}\t{row.created_at:%Y-%m-%d}")
        for row in confirming:
            state = ("the phone did not confirm in time: approve again"
                     if applications.lapsed(svc.line, row) else
                     f"approved, waiting for the phone to confirm (until "
                     f"{applications.confirm_until(row):%Y-%m-%d %H:%M} UTC)")
            click.echo(f"#{row.id}\t{row.name}\t{state}")


@applications_cli.command("approve")
@click.argument("application_id", type=int)
@click.option("--lang", default=None, help="Language codes (en,es); else from the answer.")
def applications_approve(application_id: int, lang: str | None) -> None:
    """Approve: text the applicant's phone a code; it joins the roster (off shift, no PIN
    yet) when that phone replies with it."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            volunteer = applications.approve(session, svc.line, CLI_ACTOR, application_id,
                                             lang)
            vid = volunteer.id
    except (InvalidNumber, RosterError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"approved: volunteer #{vid}, waiting for the phone to confirm (texted a "
               "code; then roster set-pin for the voice line)")


@applications_cli.command("decline")
@click.argument("application_id", type=int)
def applications_decline(application_id: int) -> None:
    """Decline an application (the applicant gets a kind text)."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            applications.decline(session, svc.line, CLI_ACTOR, application_id)
    except RosterError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"declined application #{application_id}")
