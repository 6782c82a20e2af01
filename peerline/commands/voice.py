"""``flask --app wsgi voice …``: voicemails waiting, and ringing a peer to return one."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from peerline.commands.common import services
from peerline.models import Voicemail, VoicemailStatus
from peerline.voice.callbacks import callback_refusal, start_callback

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

    The volunteer keys their PIN on that call before the voicemail plays.
    """
    svc = services()
    with svc.sessions.begin() as session:
        reason = callback_refusal(session, svc.line, voicemail_id, volunteer_id)
        started = reason is None and start_callback(session, svc.line, voicemail_id,
                                                    volunteer_id)
    if not started:
        raise click.UsageError(reason or "that voicemail or volunteer cannot take a "
                                         "callback now")
    click.echo(f"ringing volunteer #{volunteer_id} to return voicemail #{voicemail_id}")
