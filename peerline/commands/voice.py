"""``flask --app wsgi voice …``: voicemails waiting, and ringing a peer to return one."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from peerline.commands.common import services
from peerline.models import Voicemail, VoicemailStatus
from peerline.staff.audit import CLI_ACTOR
from peerline.voice import callback_admin

voice_cli = AppGroup("voice", help="The voice line: voicemails and callbacks.")


@voice_cli.command("voicemails")
def voice_voicemails() -> None:
    """List voicemails waiting for a callback (no numbers, no words)."""
    with services().sessions() as session:
        rows = session.scalars(select(Voicemail).where(Voicemail.status == VoicemailStatus.NEW)
                               .order_by(Voicemail.priority.desc(), Voicemail.id)).all()
        if not rows:
            click.echo("no voicemails waiting")
        for vm in rows:
            crisis = " CRISIS" if vm.priority else ""
            click.echo(f"#{vm.id}\t{vm.lang}\t{vm.created_at:%Y-%m-%d %H:%M}{crisis}")


@voice_cli.command("callback")
@click.option("--voicemail", "voicemail_id", type=int, required=True)
@click.option("--volunteer", "volunteer_id", type=int, required=True)
def voice_callback(voicemail_id: int, volunteer_id: int) -> None:
    """Ring a volunteer to return a voicemail through the line (numbers masked).

    The volunteer keys their PIN on that call before the voicemail plays. Audited.
    """
    svc = services()
    try:
        with svc.sessions.begin() as session:
            callback_admin.assign(session, svc.line, CLI_ACTOR, voicemail_id, volunteer_id)
    except callback_admin.CallbackError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"ringing volunteer #{volunteer_id} to return voicemail #{voicemail_id}")


@voice_cli.command("done")
@click.option("--voicemail", "voicemail_id", type=int, required=True)
@click.option("--note", default="", help="Why (kept in the audit log).")
def voice_done(voicemail_id: int, note: str) -> None:
    """Mark a waiting voicemail done by hand (returned another way); audited."""
    svc = services()
    try:
        with svc.sessions.begin() as session:
            callback_admin.mark_done(session, svc.line, CLI_ACTOR, voicemail_id, note)
    except callback_admin.CallbackError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"voicemail #{voicemail_id} done")
