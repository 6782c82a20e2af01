"""``flask --app wsgi privacy …`` and ``rotate-keys``: quick exits' deletions at Twilio,
and re-encrypting stored values with the newest key."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from peerline.commands.common import services
from peerline.models import DeletionStatus, RemoteDeletion
from peerline.privacy.keys import rotate_all

privacy_cli = AppGroup("privacy", help="Quick exits: what Twilio was asked to delete.")


@privacy_cli.command("deletions")
@click.option("--all", "show_all", is_flag=True, help="Also those already deleted.")
def privacy_deletions(show_all: bool) -> None:
    """Records at Twilio a quick exit asked to delete: failed and pending ones (sids only)."""
    with services().sessions() as session:
        query = select(RemoteDeletion).order_by(RemoteDeletion.id.desc()).limit(500)
        if not show_all:
            query = query.where(RemoteDeletion.status.in_(
                (DeletionStatus.FAILED, DeletionStatus.PENDING)))
        rows = session.scalars(query).all()
        if not rows:
            click.echo("nothing waiting or failed")
        for r in rows:
            click.echo(f"#{r.id}\t{r.kind}\t{r.sid}\t{r.status}\ttries {r.attempts}\t"
                       f"survivor #{r.survivor_id}\t{r.last_error or ''}")


@click.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt stored numbers and sealed words with the first PEERLINE_ENCRYPTION_KEYS key."""
    svc = services()
    with svc.sessions.begin() as session:
        count = rotate_all(session, svc.line.vault)
    click.echo(f"re-encrypted {count} values")
