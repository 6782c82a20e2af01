"""Reports from a seeded history whose right answers are worked out here by hand (and an
Erlang C of the test's own, from factorials), not with the report's code: the command
line, the dashboard page, its charts and CSV downloads."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from peerline.models import (
    Alert,
    Call,
    Conversation,
    Escalation,
    GroupMeeting,
    GroupSession,
    Offer,
    Survivor,
    Volunteer,
)
from peerline.reports.figures import Hour
from peerline.reports.staffing import per_hour

from .dashboard_helpers import signed_in
from .helpers import LINE
from .schedule_helpers import schedule
from .test_text_line import ALEX, add_volunteer

SINCE, UNTIL = "2026-11-02", "2026-11-15"  # two whole weeks, Monday to Sunday, all EST
EST = timedelta(hours=5)  # America/New_York in November after the DST change: UTC-5


def utc(local: str) -> datetime:
    """A New York wall-clock time (EST) as the naive UTC the database keeps."""
    return datetime.fromisoformat(local) + EST


def seed(svc) -> None:
    """Ten answered texts Mon 09:xx, two abandoned Tue 22:xx, one waiting with nobody on
    shift Sun 23:10, four answered calls, one abandoned, one voicemail Mon 09:xx of the
    second week, four crises; and contacts just outside the range."""
    add_volunteer(svc, "Alex", ALEX)
    with svc.sessions.begin() as s:
        alex = s.scalar(select(Volunteer.id))
        serial = iter(range(1, 1000))

        def text(created: datetime, wait_s: int | None = None, handle_min: int | None = None,
                 closed: bool = False) -> Conversation:
            n = next(serial)
            survivor = Survivor(phone_enc="x", phone_hash=f"hash{n}", lang="en",
                                created_at=created)
            s.add(survivor)
            s.flush()
            conversation = Conversation(survivor_id=survivor.id, channel="sms",
                                        status="waiting", lang="en", survivor_line=LINE,
                                        created_at=created, queued_at=created, priority=0)
            s.add(conversation)
            s.flush()
            if wait_s is not None:
                answered = created + timedelta(seconds=wait_s)
                s.add(Offer(conversation_id=conversation.id, volunteer_id=alex,
                            line_number=LINE, status="accepted", created_at=created,
                            expires_at=answered, resolved_at=answered))
                conversation.status, conversation.volunteer_id = "active", alex
                if handle_min is not None:
                    conversation.status = "closed"
                    conversation.closed_at = answered + timedelta(minutes=handle_min)
            elif closed:
                conversation.status = "closed"
                conversation.closed_at = created + timedelta(minutes=3)
                conversation.closed_reason = "opted_out"
            return conversation

        def call(queued: datetime, wait_s: int | None, outcome: str) -> None:
            answered = queued + timedelta(seconds=wait_s) if wait_s is not None else None
            ended = (answered or queued) + timedelta(minutes=10 if answered else 1)
            s.add(Call(sid=f"CA{next(serial):032d}", role="survivor", stage="ended",
                       outcome=outcome, line_number=LINE, created_at=queued - timedelta(
                           seconds=20), queued_at=queued, answered_at=answered,
                       ended_at=ended, volunteer_id=alex if answered else None, priority=0))

        for i in range(10):  # waits 10..100 s; handling 20, 22, ..., 38 min (mean 29)
            text(utc(f"2026-11-02 09:{i:02d}"), wait_s=10 * (i + 1), handle_min=20 + 2 * i)
        text(utc("2026-11-03 22:30"), closed=True)  # Wed 03:30 UTC, Tue 22:30 local
        text(utc("2026-11-03 22:45"), closed=True)
        waiting = text(utc("2026-11-15 23:10"))  # Mon 04:10 UTC, still in the range
        s.add(Alert(kind="nobody_on_shift", conversation_id=waiting.id,
                    created_at=waiting.created_at))
        text(utc("2026-11-16 00:10"), wait_s=5, handle_min=5)  # a day too late
        text(utc("2026-11-01 23:50"), wait_s=5, handle_min=5)  # a day too early
        for i, wait in enumerate((200, 300, 400, 500)):
            call(utc(f"2026-11-09 09:{5 * i:02d}"), wait, "answered")
        call(utc("2026-11-09 09:50"), None, "abandoned")
        call(utc("2026-11-09 09:55"), None, "voicemail")
        call(utc("2026-11-16 09:00"), 1, "answered")  # outside
        for moment in ("2026-11-02 10:00", "2026-11-04 12:00", "2026-11-08 23:59",
                       "2026-11-09 00:01", "2026-11-16 00:30"):
            s.add(Escalation(source="detector", category="suicidal_intent",
                             created_at=utc(moment)))


# --- an Erlang C of our own: straight from the textbook formula with factorials -------

def erlang_c_textbook(n: int, a: float) -> float:
    top = a ** n / math.factorial(n) * n / (n - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(n)) + top)


def slots_needed(per_hour: float, handle_min: float, within_s: float, target: float) -> int:
    a = per_hour * handle_min / 60
    n = math.floor(a) + 1
    while 1 - erlang_c_textbook(n, a) * math.exp(-(n - a) * within_s / (handle_min * 60)) \
            < target:
        n += 1
    return n


EXPECTED = {
    "contacts": {"texts": 13, "calls": 6, "all": 19},
    "answered": 14, "abandoned": 3,
    # all waits, sorted: 10 20 ... 100 200 300 400 500 (14); nearest rank 7, 13, 14
    "wait_all": {"p50": 70, "p90": 400, "p99": 500},
    "wait_texts": {"p50": 50, "p90": 90, "p99": 100},
    "wait_calls": {"p50": 300, "p90": 500, "p99": 500},
    "crises_per_week": [{"week": "2026-11-02", "crises": 3},
                        {"week": "2026-11-09", "crises": 1}],
}


def test_summary_figures_from_the_seeded_history(app, svc):
    seed(svc)
    out = app.test_cli_runner().invoke(args=["reports", "summary", "--since", SINCE,
                                             "--until", UNTIL, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["contacts"] == EXPECTED["contacts"]
    assert data["answered"] == 14 and data["answer_rate"] == pytest.approx(14 / 19)
    assert data["abandoned"] == 3 and data["abandonment_rate"] == pytest.approx(3 / 19)
    assert data["wait_s"]["all"] == EXPECTED["wait_all"]
    assert data["wait_s"]["texts"] == EXPECTED["wait_texts"]
    assert data["wait_s"]["calls"] == EXPECTED["wait_calls"]
    assert data["handle_minutes"]["texts"] == pytest.approx(29.0)
    assert data["handle_minutes"]["calls"] == pytest.approx(10.0)
    assert data["crises"] == 4 and data["crises_per_week"] == EXPECTED["crises_per_week"]
    # nobody is scheduled at all here: every hour with demand is a gap
    assert data["coverage_gaps"] == ["Mon 09:00", "Tue 22:00", "Sun 23:00"]
    plain = app.test_cli_runner().invoke(args=["reports", "summary", "--since", SINCE,
                                               "--until", UNTIL])
    assert plain.exit_code == 0
    assert "19 contacts (13 texts, 6 calls)" in plain.output
    assert "wait p50 70 s, p90 400 s, p99 500 s" in plain.output


def test_hourly_contacts_and_staffing_per_hour_of_the_week(app, svc):
    seed(svc)
    with svc.sessions() as s:
        alex = s.scalar(select(Volunteer.id))
    schedule(svc, alex, "09:00", "10:00", day="mon")  # Alex, every Monday 09–10 local
    out = app.test_cli_runner().invoke(args=["reports", "hourly", "--since", SINCE,
                                             "--until", UNTIL, "--csv"])
    assert out.exit_code == 0, out.output
    rows = {r["hour_of_week"]: r for r in csv.DictReader(io.StringIO(out.output))}
    assert len(rows) == 168
    busy = {label for label, r in rows.items()
            if float(r["texts_per_week"]) or float(r["calls_per_week"])}
    assert busy == {"Mon 09:00", "Tue 22:00", "Sun 23:00"}  # local hours, not UTC
    mon = rows["Mon 09:00"]
    assert float(mon["texts_per_week"]) == 5.0 and float(mon["calls_per_week"]) == 3.0
    # Texts: 5 an hour, 29 min each, two conversations per volunteer (Alex's capacity,
    # three line numbers); calls: 3 an hour, 10 min each; 80% within 120 s.
    texts = math.ceil(slots_needed(5, 29, 120, 0.8) / 2)
    calls = slots_needed(3, 10, 120, 0.8)
    assert int(mon["text_volunteers"]) == texts and int(mon["call_volunteers"]) == calls
    assert int(mon["needed"]) == texts + calls
    # the schedule: Alex alone on Mondays 09–10, so one on shift there and none elsewhere
    assert float(mon["on_shift"]) == 1.0
    assert mon["status"] == ("covered" if texts + calls <= 1 else "short")
    assert float(rows["Mon 10:00"]["on_shift"]) == 0.0
    assert rows["Mon 09:00"]["coverage_gap"] == ""
    assert rows["Sun 23:00"]["coverage_gap"] == "yes"
    assert rows["Tue 22:00"]["coverage_gap"] == "yes"  # demand, and nobody scheduled
    table = app.test_cli_runner().invoke(args=["reports", "hourly", "--since", SINCE,
                                               "--until", UNTIL])
    assert table.exit_code == 0 and "Sun 23:00" in table.output and "GAP" in table.output


def test_staffing_short_covered_over_once_on_shift_is_known():
    hours = [Hour(0, 9, texts=10, calls=0, weeks=2.0), Hour(0, 10, texts=10, weeks=2.0),
             Hour(0, 11, texts=10, weeks=2.0), Hour(0, 12, weeks=2.0)]
    need = math.ceil(slots_needed(5, 29, 120, 0.8) / 2)
    on_shift = {(0, 9): need - 1, (0, 10): need, (0, 11): need + 2, (0, 12): 0}
    rows = per_hour(hours, 29, None, 2, 120, 0.8, on_shift)
    assert [r.status for r in rows] == ["short", "covered", "over", "covered"]
    assert [r.gap for r in rows] == [False, False, False, False]
    rows = per_hour(hours, 29, None, 2, 120, 0.8, {(0, 9): 0})
    assert rows[0].gap and rows[0].status == "short"


def test_bad_ranges_are_refused_by_the_command(app):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["reports", "summary", "--since", "2026-11-15", "--until",
                              "2026-11-02"])
    assert out.exit_code != 0 and "starts after it ends" in out.output
    out = runner.invoke(args=["reports", "summary", "--since", "15/11/2026"])
    assert out.exit_code != 0


# --- the dashboard ----------------------------------------------------------------------

QUERY = f"?since={SINCE}&until={UNTIL}"


@pytest.mark.parametrize("role", ["viewer", "coordinator", "admin"])
def test_the_reports_page_for_every_role(app, svc, role):
    seed(svc)
    client = signed_in(app, svc, role)
    page = client.get("/dashboard/reports" + QUERY)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-figure="contacts">19<' in html
    assert 'data-figure="wait">70 s / 6.7 min / 8.3 min<' in html
    assert 'data-figure="abandonment_rate">15.8%<' in html  # 3 of 19
    for name in ("contacts", "waits", "crises", "staffing"):
        assert f'data-chart="{name}"' in html
        svg = client.get(f"/dashboard/reports/{name}.svg" + QUERY)
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert svg.get_data(as_text=True).lstrip().startswith("<?xml")
        download = client.get(f"/dashboard/reports/{name}.csv" + QUERY)
        assert download.status_code == 200 and download.mimetype == "text/csv"
    crises = client.get("/dashboard/reports/crises.csv" + QUERY).get_data(as_text=True)
    assert crises.splitlines() == ["week_starting,crises", "2026-11-02,3", "2026-11-09,1"]
    waits = client.get("/dashboard/reports/waits.csv" + QUERY).get_data(as_text=True)
    assert "all,70.000,400.000,500.000" in waits.splitlines()


def test_reports_need_sign_in_and_refuse_bad_input(app, svc):
    assert app.test_client().get("/dashboard/reports").status_code == 302
    client = signed_in(app, svc, "viewer")
    for query in ("?since=yesterday", "?since=2026-11-15&until=2026-11-02", "?target=150",
                  "?within=abc", "?since=2020-01-01&until=2026-01-01"):
        assert client.get("/dashboard/reports" + query).status_code == 400, query
    assert client.get("/dashboard/reports/nothing.svg").status_code == 404
    assert client.get("/dashboard/reports/nothing.csv").status_code == 404


def test_the_wellbeing_page_and_command(app, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    with svc.sessions.begin() as s:
        alex = s.scalar(select(Volunteer))
        for i in range(3):
            survivor = Survivor(phone_enc="x", phone_hash=f"w{i}", lang="en",
                                created_at=clock())
            s.add(survivor)
            s.flush()
            conversation = Conversation(survivor_id=survivor.id, channel="sms",
                                        status="closed", lang="en", survivor_line=LINE,
                                        created_at=clock(), queued_at=clock(),
                                        priority=1 if i < 2 else 0)
            s.add(conversation)
            s.flush()
            s.add(Offer(conversation_id=conversation.id, volunteer_id=alex.id,
                        line_number=LINE, status="accepted", created_at=clock(),
                        expires_at=clock(), resolved_at=clock()))
    out = app.test_cli_runner().invoke(args=["reports", "wellbeing"])
    assert out.exit_code == 0
    assert "Alex: 2 crises, 3 conversations in 7 days" in out.output
    assert "SEVERAL CRISES" in out.output
    coordinator = signed_in(app, svc, "coordinator")
    page = coordinator.get("/dashboard/wellbeing").get_data(as_text=True)
    assert "Alex" in page and "several crises" in page
    assert signed_in(app, svc, "viewer").get("/dashboard/wellbeing").status_code == 403


# --- group attendance (counts per meeting, never who) -------------------------------------

#: (group, local date, joined, most at once): the first and last fall outside the range.
MEETINGS = [(0, "2026-11-01", 9, 9), (0, "2026-11-03", 5, 4), (1, "2026-11-05", 0, 0),
            (0, "2026-11-10", 7, 6), (1, "2026-11-15", 3, 3), (1, "2026-11-16", 8, 8)]


def seed_attendance(svc) -> list[int]:
    """Two groups and their meetings' stored counts; returns the groups' ids."""
    add_volunteer(svc, "Alex", ALEX)
    with svc.sessions.begin() as s:
        alex = s.scalar(select(Volunteer.id))
        groups = []
        for topic in ("Healing together", "After loss"):
            group = GroupSession(topic=topic, lang="en", weekday=1, start="19:00",
                                 minutes=60, capacity=10, muted=True, facilitator_id=alex,
                                 active=True, created_at=utc("2026-10-01 12:00"))
            s.add(group)
            s.flush()
            groups.append(group.id)
        for n, day, joined, peak in MEETINGS:
            s.add(GroupMeeting(group_id=groups[n], occurs_on=date.fromisoformat(day),
                               locked=False, attended=joined, present=0, peak=peak,
                               created_at=utc(f"{day} 18:50")))
    return groups


def expected_attendance(groups: list[int]) -> list[list[str]]:
    inside = [m for m in MEETINGS if SINCE <= m[1] <= UNTIL]
    topics = ("Healing together", "After loss")
    return [[day, str(groups[n]), topics[n], str(joined), str(peak)]
            for n, day, joined, peak in sorted(inside, key=lambda m: m[1])]


def test_group_attendance_reaches_the_command_line(app, svc):
    groups = seed_attendance(svc)
    expected = expected_attendance(groups)
    out = app.test_cli_runner().invoke(args=["reports", "attendance", "--since", SINCE,
                                             "--until", UNTIL, "--csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.output)))
    assert rows[0] == ["date", "group", "topic", "attended", "most_at_once"]
    assert rows[1:] == expected
    plain = app.test_cli_runner().invoke(args=["reports", "attendance", "--since", SINCE,
                                               "--until", UNTIL])
    assert f"2026-11-10  #{groups[0]} Healing together: 7 joined, at most 6 at once" \
        in plain.output
    summary = app.test_cli_runner().invoke(args=["reports", "summary", "--since", SINCE,
                                                 "--until", UNTIL, "--json"])
    data = json.loads(summary.output)
    assert data["group_attendance"] == {
        "meetings": len(expected), "attended": sum(int(r[3]) for r in expected),
        "peak": max(int(r[4]) for r in expected)}
    assert data["group_attendance"]["attended"] == 15  # 5 + 0 + 7 + 3, by hand
    empty = app.test_cli_runner().invoke(args=["reports", "attendance", "--since",
                                               "2026-12-01", "--until", "2026-12-02"])
    assert "no group meetings" in empty.output


def test_group_attendance_on_the_reports_page_chart_and_csv(app, svc):
    groups = seed_attendance(svc)
    client = signed_in(app, svc, "viewer")
    html = client.get("/dashboard/reports" + QUERY).get_data(as_text=True)
    assert 'data-figure="group_attendance">15<' in html
    assert "over 4 group meeting(s), at most 6 at once" in html
    assert 'data-chart="attendance"' in html
    svg = client.get("/dashboard/reports/attendance.svg" + QUERY)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert "11-10 #" in svg.get_data(as_text=True)  # a meeting's label
    download = client.get("/dashboard/reports/attendance.csv" + QUERY).get_data(as_text=True)
    assert list(csv.reader(io.StringIO(download)))[1:] == expected_attendance(groups)
    for text in (html, download):
        assert ALEX not in text and "0100001" not in text  # never a number
