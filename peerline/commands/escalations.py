"""``flask --app wsgi escalations …``: the crisis escalation log."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from peerline.commands.common import services
from peerline.models import Escalation
from peerline.text.escalation import acknowledge

escalations_cli = AppGroup("escalations", help="The crisis escalation log.")


@escalations_cli.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only those not acknowledged.")
def escalations_list(only_open: bool) -> None:
    """Show escalations, newest first (category and source; never a number)."""
    with services().sessions() as session:
        query = select(Escalation).order_by(Escalation.id.desc()).limit(200)
        if only_open:
            query = query.where(Escalation.acknowledged_at.is_(None))
        rows = session.scalars(query).all()
        if not rows:
            click.echo("no escalations")
        for e in rows:
            ack = f"ack by {e.acknowledged_by}" if e.acknowledged_at else "OPEN"
            click.echo(f"#{e.id}\t{e.created_at:%Y-%m-%d %H:%M}\tconversation "
                       f"#{e.conversation_id}\t{e.category}\t{e.source}\t{ack}")


@escalations_cli.command("ack")
@click.argument("escalation_id", type=int)
@click.option("--by", "by", required=True, help="Who acknowledges it.")
def escalations_ack(escalation_id: int, by: str) -> None:
    """Acknowledge an escalation."""
    svc = services()
    with svc.sessions.begin() as session:
        done = acknowledge(session, svc.line, escalation_id, by)
    if not done:
        raise click.UsageError("no such open escalation")
    click.echo(f"escalation #{escalation_id} acknowledged")
