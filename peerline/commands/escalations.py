"""``flask --app wsgi escalations …``: the crisis escalation log (the dashboard's filters
and acknowledgement, from the shell; never a number or the matched words)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from peerline.commands.common import services
from peerline.staff import escalation_log
from peerline.staff.audit import CLI_ACTOR

escalations_cli = AppGroup("escalations", help="The crisis escalation log.")


@escalations_cli.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only those not acknowledged.")
@click.option("--status", type=click.Choice(escalation_log.STATUSES), default=None,
              help="open, acknowledged or all (default: all; --open is --status open).")
@click.option("--category", default="", help="e.g. suicidal_intent, self_harm, means.")
@click.option("--since", default="", help="First day (YYYY-MM-DD, UTC).")
@click.option("--until", default="", help="Last day (YYYY-MM-DD, UTC), included.")
def escalations_list(only_open: bool, status: str | None, category: str, since: str,
                     until: str) -> None:
    """Show escalations, newest first (category and source; never a number or words)."""
    try:
        wanted = escalation_log.filters("open" if only_open else status or "all", category,
                                        since, until)
    except escalation_log.FilterError as exc:
        raise click.UsageError(str(exc)) from None
    with services().sessions() as session:
        rows = escalation_log.listing(session, wanted)
        if not rows:
            click.echo("no escalations")
        for e in rows:
            ack = f"ack by {e.acknowledged_by}" if e.acknowledged_at else "OPEN"
            click.echo(f"#{e.id}\t{e.created_at:%Y-%m-%d %H:%M}\tconversation "
                       f"#{e.conversation_id}\t{e.category}\t{e.source}\t{ack}")


@escalations_cli.command("ack")
@click.argument("escalation_id", type=int)
@click.option("--by", "by", required=True, help="Who acknowledges it.")
@click.option("--note", default="", help=f"A note (up to {escalation_log.NOTE_MAX} "
                                         "characters), kept in the audit log.")
def escalations_ack(escalation_id: int, by: str, note: str) -> None:
    """Acknowledge an escalation, with an optional note; audited."""
    svc = services()
    with svc.sessions.begin() as session:
        done = escalation_log.acknowledge(session, svc.line, CLI_ACTOR, escalation_id, note,
                                          by=by)
    if not done:
        raise click.UsageError("no such open escalation")
    click.echo(f"escalation #{escalation_id} acknowledged")
