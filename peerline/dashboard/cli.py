"""``flask --app wsgi users …``: dashboard users (the first admin is made here)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from peerline.staff import accounts, audit

users_cli = AppGroup("users", help="Who may sign in to the dashboard.")


@users_cli.command("add")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 10 characters; asked for (hidden) when left out.")
@click.option("--role", required=True, type=click.Choice(accounts.ROLES))
def users_add(email: str, password: str, role: str) -> None:
    """Create a dashboard user (the first admin, or any other)."""
    svc = current_app.extensions["peerline"]
    try:
        with svc.sessions.begin() as session:
            user = accounts.add_user(session, svc.line, email, password, role, audit.CLI_ACTOR)
            uid, address = user.id, user.email
    except accounts.AccountError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"added {role} #{uid} {address}")


@users_cli.command("list")
def users_list() -> None:
    """Every dashboard user."""
    svc = current_app.extensions["peerline"]
    with svc.sessions() as session:
        for user in accounts.list_users(session):
            state = "active" if user.active else "deactivated"
            click.echo(f"#{user.id}\t{user.email}\t{user.role}\t{state}")


@users_cli.command("deactivate")
@click.option("--email", required=True)
def users_deactivate(email: str) -> None:
    """Stop a user signing in (open sessions end at their next request)."""
    svc = current_app.extensions["peerline"]
    try:
        with svc.sessions.begin() as session:
            accounts.deactivate_user(session, svc.line, email, audit.CLI_ACTOR)
    except accounts.AccountError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"deactivated {email}")
