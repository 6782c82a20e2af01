"""``flask --app wsgi db …``: create or migrate the schema."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from peerline import schema
from peerline.commands.common import services

db_cli = AppGroup("db", help="Create or migrate the database schema.")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create the schema, or migrate it to the newest revision."""
    schema.upgrade(services().engine, revision)
    click.echo("database is at revision " + revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    schema.revision(services().engine, message)
