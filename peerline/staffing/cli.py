"""``flask --app wsgi reports …``: staffing figures from the command line (thin)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from .erlang import needed

reports_cli = AppGroup("reports", help="Reports: how many volunteers an hour needs.")


@reports_cli.command("staffing")
@click.option("--per-hour", type=float, required=True, help="Contacts arriving an hour.")
@click.option("--handle-minutes", type=float, required=True,
              help="Average minutes a contact takes.")
@click.option("--answer-within", type=float, required=True,
              help="Target wait in seconds.")
@click.option("--target", type=float, required=True,
              help="Share answered within the wait: 0.8 (or 80 for 80%).")
@click.option("--capacity", type=int, default=1, show_default=True,
              help="Conversations a volunteer holds at once (texts; 1 for calls).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def staffing(per_hour: float, handle_minutes: float, answer_within: float, target: float,
             capacity: int, as_json: bool) -> None:
    """The fewest volunteers on shift for one hour's figures (Erlang C)."""
    share = target / 100.0 if target > 1 else target
    try:
        figures = needed(per_hour, handle_minutes, answer_within, share, capacity)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if as_json:
        click.echo(json.dumps(figures.to_json()))
        return
    click.echo(f"{figures.volunteers} volunteers: {figures.service_level:.1%} answered "
               f"within {answer_within:g} s, occupancy {figures.occupancy:.1%}, "
               f"mean wait {figures.mean_wait_s:.1f} s")
