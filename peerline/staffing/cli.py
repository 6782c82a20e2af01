"""``flask --app wsgi reports …``: staffing for one hour's figures (Erlang C), and the
measured reports over a range: ``summary``, ``hourly``, ``attendance`` (group meetings),
``wellbeing`` (thin)."""

from __future__ import annotations

import json
from datetime import date, datetime

import click
from flask.cli import AppGroup

from peerline.commands.common import services
from peerline.people import wellbeing
from peerline.reports import measure, report

from .erlang import needed

reports_cli = AppGroup("reports", help="Reports: measured figures and staffing.")

_DAY = click.DateTime(formats=["%Y-%m-%d"])


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


def _build(since: datetime | None, until: datetime | None, answer_within: float,
           target: float) -> report.Report:
    svc = services()
    first: date | None = since.date() if since else None
    last: date | None = until.date() if until else None
    share = target / 100.0 if target > 1 else target
    if not 0.0 < share < 1.0 or answer_within < 0:
        raise click.BadParameter("--target is a share between 0 and 1 (or a percent) and "
                                 "--answer-within is seconds, not negative")
    try:
        when = measure.period(svc.line, first, last)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with svc.sessions() as session:
        return report.build(session, svc.line, when, answer_within, share)


_range = [
    click.option("--since", type=_DAY, default=None,
                 help="First local day, YYYY-MM-DD (default: 27 days before --until)."),
    click.option("--until", type=_DAY, default=None,
                 help="Last local day, YYYY-MM-DD (default: today)."),
    click.option("--answer-within", type=float, default=report.ANSWER_WITHIN_S,
                 show_default=True, help="Staffing: target wait in seconds."),
    click.option("--target", type=float, default=report.TARGET, show_default=True,
                 help="Staffing: share answered within the wait."),
]


def _with_range(command):  # noqa: ANN001, ANN202
    for option in reversed(_range):
        command = option(command)
    return command


def _pct(value: object) -> str:
    return "-" if value is None else f"{float(value):.1%}"  # type: ignore[arg-type]


def _secs(value: object) -> str:
    return "-" if value is None else f"{float(value):.0f} s"  # type: ignore[arg-type]


@reports_cli.command("summary")
@_with_range
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def summary(since: datetime | None, until: datetime | None, answer_within: float,
            target: float, as_json: bool) -> None:
    """Measured figures over a range: contacts, answer rate, waits, abandonment,
    handling time, crises per week, coverage gaps."""
    built = _build(since, until, answer_within, target)
    data = dict(built.summary)
    data["coverage_gaps"] = [s.hour.label for s in built.staffing if s.gap]
    data["short_hours"] = [s.hour.label for s in built.staffing if s.status == "short"]
    data["group_attendance"] = built.groups
    if as_json:
        click.echo(json.dumps(data))
        return
    counts, waits, handle = data["contacts"], data["wait_s"], data["handle_minutes"]
    assert isinstance(counts, dict) and isinstance(waits, dict) and isinstance(handle, dict)
    click.echo(f"{data['since']} to {data['until']}: {counts['all']} contacts "
               f"({counts['texts']} texts, {counts['calls']} calls)")
    click.echo(f"answered {data['answered']} ({_pct(data['answer_rate'])}), abandoned "
               f"{data['abandoned']} ({_pct(data['abandonment_rate'])})")
    w = waits["all"]
    click.echo(f"wait p50 {_secs(w['p50'])}, p90 {_secs(w['p90'])}, p99 {_secs(w['p99'])}")
    click.echo("handling: texts " + ("-" if handle["texts"] is None else
                                     f"{handle['texts']:.1f} min") + ", calls " +
               ("-" if handle["calls"] is None else f"{handle['calls']:.1f} min"))
    weeks = ", ".join(f"{w['week']}: {w['crises']}" for w in data["crises_per_week"])  # type: ignore[union-attr]
    click.echo(f"crises {data['crises']} ({weeks})")
    groups = built.groups
    click.echo(f"groups: {groups['meetings']} meetings, {groups['attended']} joined, at most "
               f"{groups['peak']} at once")
    gaps = data["coverage_gaps"]
    click.echo(f"coverage gaps (texts with nobody on shift): {', '.join(gaps) or 'none'}")  # type: ignore[arg-type]


@reports_cli.command("hourly")
@_with_range
@click.option("--csv", "as_csv", is_flag=True, help="CSV with every hour of the week.")
def hourly(since: datetime | None, until: datetime | None, answer_within: float,
           target: float, as_csv: bool) -> None:
    """Contacts and staffing per hour of the week (Erlang C, texts' capacity counted)."""
    built = _build(since, until, answer_within, target)
    if as_csv:
        click.echo(report.as_csv(built, "staffing"), nl=False)
        return
    click.echo(f"{built.period.first} to {built.period.last}, per week on average; "
               f"texting volunteers hold {built.capacity} at once; target "
               f"{built.target:.0%} within {built.answer_within_s:g} s")
    click.echo("hour        texts  calls  needed  on shift  status")
    for row in built.staffing:
        if not (row.hour.texts or row.hour.calls or row.on_shift):
            continue
        on_shift = "coming" if row.on_shift is None else f"{row.on_shift:.1f}"
        click.echo(f"{row.hour.label}  {row.hour.texts_per_week:5.1f}  "
                   f"{row.hour.calls_per_week:5.1f}  {row.needed:6d}  {on_shift:>8}  "
                   f"{row.status}{'  GAP' if row.gap else ''}")


@reports_cli.command("attendance")
@_with_range
@click.option("--csv", "as_csv", is_flag=True, help="CSV, one row per group meeting.")
def attendance(since: datetime | None, until: datetime | None, answer_within: float,
               target: float, as_csv: bool) -> None:
    """Group attendance per meeting: participants who joined and the most at once
    (counts only, never who)."""
    built = _build(since, until, answer_within, target)
    if as_csv:
        click.echo(report.as_csv(built, "attendance"), nl=False)
        return
    if not built.attendance:
        click.echo(f"no group meetings from {built.period.first} to {built.period.last}")
        return
    for row in built.attendance:
        click.echo(f"{row.occurs_on}  #{row.group_id} {row.topic}: {row.attended} joined, "
                   f"at most {row.peak} at once")


@reports_cli.command("wellbeing")
def wellbeing_command() -> None:
    """Volunteers' last seven days: crises, conversations taken, cool-downs."""
    svc = services()
    with svc.sessions() as session:
        rows = wellbeing.crisis_week(session, svc.line)
    if not rows:
        click.echo("no conversations in the last 7 days")
    for row in rows:
        flag = "  SEVERAL CRISES" if row.several else ""
        cool = ", cooling down now" if row.cooling_down else ""
        cap = f" (cap {row.cap_per_week})" if row.cap_per_week else ""
        click.echo(f"#{row.volunteer_id} {row.name}: {row.crises} crises, {row.taken} "
                   f"conversations in 7 days{cap}{cool}{flag}")
