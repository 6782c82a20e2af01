"""``flask --app wsgi spool …``: texts spooled during a database outage; dead letters."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from peerline.commands.common import services
from peerline.delivery import spool, spool_admin

spool_cli = AppGroup("spool", help="Texts spooled while the database was down; dead letters.")


@spool_cli.command("list")
def spool_list() -> None:
    """Show what the spool holds and every dead letter (no numbers, no words)."""
    svc = services()
    where = svc.config["INSTANCE_DIR"]
    counts = spool_admin.counts(svc.redis(), where)
    if counts.redis_waiting is None:
        click.echo("redis: unreachable")
    else:
        click.echo(f"redis: {counts.redis_waiting} waiting, {counts.redis_in_flight} "
                   f"being replayed, {counts.redis_dead} dead letters")
    click.echo(f"file on this host: {counts.file_waiting} waiting, {counts.file_dead} "
               "dead letters")
    for letter in spool_admin.dead_letters(svc.redis(), where, svc.line):
        click.echo(f"{letter.id}\t{letter.where}\t{letter.message_sid}\t{letter.why}")


@spool_cli.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every dead letter.")
def spool_retry(ids: tuple[str, ...], everything: bool) -> None:
    """Put dead letters (by id, from `spool list`) back in the spool and replay it."""
    if not ids and not everything:
        raise click.UsageError("name dead letters by id (see `spool list`), or --all")
    svc = services()
    moved = spool_admin.redrive(svc.redis(), svc.config["INSTANCE_DIR"],
                                None if everything else set(ids))
    before = len(spool_admin.dead_letters(svc.redis(), svc.config["INSTANCE_DIR"], svc.line))
    stored = spool.drain(svc)
    after = len(spool_admin.dead_letters(svc.redis(), svc.config["INSTANCE_DIR"], svc.line))
    click.echo(f"re-driven {moved}; replayed {stored}; parked again {after - before}")
