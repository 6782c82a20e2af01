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
        if not rows:
            click.echo("no applications waiting")
        for row in rows:
            click.echo(f"#{row.id}\t{row.name}\tlanguages: {row.languages}\t"
                       f"availability: {row.availability}\t{row.created_at:%Y-%m-%d}")


@applications_cli.command("approve")
@click.argument("application_id", type=int)
@click.option("--lang", default=None, help="Language codes (en,es); else from the answer.")
def applications_approve(application_id: int, lang: str | None) -> None:
    """Put the applicant on the roster (off shift, no PIN yet) and text them."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            volunteer = applications.approve(session, svc.line, CLI_ACTOR, application_id,
                                             lang)
            vid = volunteer.id
    except (InvalidNumber, RosterError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"approved: volunteer #{vid} (no PIN yet: roster set-pin)")


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
