"""``flask --app wsgi …``: every command group, attached to the app in this one place.

The commands themselves live in :mod:`peerline.commands` (one small module per group) and
in the feature packages that own them (``staffing``, ``dashboard``, ``scheduling``).
"""

from __future__ import annotations

from flask import Flask

from peerline.commands.applications import applications_cli
from peerline.commands.db import db_cli
from peerline.commands.dev import dev_command
from peerline.commands.escalations import escalations_cli
from peerline.commands.groups import groups_cli
from peerline.commands.privacy import privacy_cli, rotate_keys_command
from peerline.commands.roster import roster_cli
from peerline.commands.spool import spool_cli
from peerline.commands.voice import voice_cli
from peerline.commands.worker import sweeper_command, worker_command
from peerline.dashboard.cli import users_cli
from peerline.scheduling.cli import schedule_cli
from peerline.staffing.cli import reports_cli


def register_cli(app: Flask) -> None:
    """Attach every command to ``app.cli``."""
    app.cli.add_command(db_cli)
    app.cli.add_command(roster_cli)
    app.cli.add_command(voice_cli)
    app.cli.add_command(escalations_cli)
    app.cli.add_command(spool_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(sweeper_command)
    app.cli.add_command(dev_command)
    app.cli.add_command(rotate_keys_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(schedule_cli)
    app.cli.add_command(applications_cli)
    app.cli.add_command(groups_cli)
