"""The shift schedule's domain: recurrence in the line's zone across both DST changes,
overnight shifts, cancelled dates, coverage gaps, and its validation and audit."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from peerline.config import ConfigError, finalise, from_environment
from peerline.models import AuditEntry
from peerline.people import roster_admin
from peerline.scheduling import coverage, recurrence, shifts, week
from peerline.scheduling.recurrence import ShiftSpec
from peerline.staff.audit import CLI_ACTOR

from .test_text_line import ALEX, SAM, add_volunteer

NY = ZoneInfo("America/New_York")
SPRING = date(2027, 3, 14)  # clocks go 02:00 EST -> 03:00 EDT
FALL = date(2027, 11, 7)    # clocks go 02:00 EDT -> 01:00 EST
SUNDAY = 6


def spec(weekday=None, on_date=None, start="09:00", end="12:00", vid=1, sid=1, cancelled=()):
    return ShiftSpec(sid, vid, weekday, on_date, recurrence.parse_time(start),
                     recurrence.parse_time(end), frozenset(cancelled))


def occ(s, first, last):
    return sorted(recurrence.occurrences([s], first, last, NY), key=lambda o: o.starts_at)


def test_a_weekly_shift_keeps_its_wall_clock_time_across_both_dst_changes():
    found = occ(spec(weekday=SUNDAY), SPRING - timedelta(days=7), SPRING)
    assert [(o.starts_at, o.ends_at) for o in found] == [
        (datetime(2027, 3, 7, 14, 0), datetime(2027, 3, 7, 17, 0)),   # EST, UTC-5
        (datetime(2027, 3, 14, 13, 0), datetime(2027, 3, 14, 16, 0)),  # EDT, UTC-4
    ]
    found = occ(spec(weekday=SUNDAY), FALL - timedelta(days=7), FALL)
    assert [(o.starts_at, o.ends_at) for o in found] == [
        (datetime(2027, 10, 31, 13, 0), datetime(2027, 10, 31, 16, 0)),
        (datetime(2027, 11, 7, 14, 0), datetime(2027, 11, 7, 17, 0)),
    ]


def test_a_shift_over_the_changed_hour_lasts_what_the_clocks_show():
    spring = occ(spec(on_date=SPRING, start="01:30", end="03:00"), SPRING, SPRING)[0]
    assert (spring.starts_at, spring.ends_at) == (datetime(2027, 3, 14, 6, 30),
                                                  datetime(2027, 3, 14, 7, 0))  # 30 min
    fall = occ(spec(on_date=FALL, start="01:30", end="03:00"), FALL, FALL)[0]
    assert (fall.starts_at, fall.ends_at) == (datetime(2027, 11, 7, 5, 30),
                                              datetime(2027, 11, 7, 8, 0))  # 2 h 30
    # A start in the skipped hour moves forward by the gap (02:30 -> 03:30 EDT).
    gap = occ(spec(on_date=SPRING, start="02:30", end="05:00"), SPRING, SPRING)[0]
    assert recurrence.to_local(gap.starts_at, NY).strftime("%H:%M %Z") == "03:30 EDT"
    assert gap.ends_at - gap.starts_at == timedelta(hours=1, minutes=30)


def test_an_overnight_shift_ends_the_next_day_also_across_a_change():
    night = occ(spec(weekday=0, start="22:00", end="02:00"), date(2027, 1, 4),
                date(2027, 1, 4))[0]
    assert (night.starts_at, night.ends_at) == (datetime(2027, 1, 5, 3, 0),
                                                datetime(2027, 1, 5, 7, 0))
    # Saturday night into the fall-back Sunday: 22:00 EDT to 02:00 EST is 5 hours.
    into_fall = occ(spec(weekday=5, start="22:00", end="02:00"), date(2027, 11, 6),
                    date(2027, 11, 6))[0]
    assert into_fall.ends_at - into_fall.starts_at == timedelta(hours=5)


def test_cancelled_dates_and_one_off_shifts():
    weekly = spec(weekday=0, cancelled={date(2027, 1, 11)})
    days = [o.local_date for o in occ(weekly, date(2027, 1, 1), date(2027, 1, 31))]
    assert days == [date(2027, 1, 4), date(2027, 1, 18), date(2027, 1, 25)]
    once = spec(on_date=date(2027, 1, 20))
    assert [o.local_date for o in occ(once, date(2027, 1, 1), date(2027, 1, 31))] == \
        [date(2027, 1, 20)]
    assert occ(once, date(2027, 2, 1), date(2027, 2, 28)) == []


def test_coverage_counts_per_hour_and_marks_the_empty_hours():
    monday = date(2027, 1, 4)
    spans = [(recurrence.to_utc(monday, time(9), NY), recurrence.to_utc(monday, time(12), NY), 1),
             (recurrence.to_utc(monday, time(10), NY),
              recurrence.to_utc(monday, time(11, 30), NY), 2)]
    grid = coverage.week(monday, spans, NY)
    counts = [grid.rows[0][h].count for h in range(8, 13)]
    assert counts == [0, 1, 2, 2, 0]
    assert not grid.rows[0][11].partly_empty
    assert len(grid.empty_hours()) == 7 * 24 - 3
    half = coverage.week(monday, [(spans[1][0], spans[1][1], 2)], NY)
    assert half.rows[0][11].count == 1 and half.rows[0][11].partly_empty


def test_coverage_on_dst_days_has_no_skipped_hour_and_one_long_repeated_hour():
    spring_week = recurrence.week_start(SPRING)
    grid = coverage.week(spring_week, [], NY)
    assert grid.rows[6][2] is None and grid.rows[6][3] is not None
    fall_week = recurrence.week_start(FALL)
    night = occ(spec(on_date=FALL, start="01:30", end="03:00"), FALL, FALL)[0]
    grid = coverage.week(fall_week, [(night.starts_at, night.ends_at, 1)], NY)
    one_am = grid.rows[6][1]
    assert one_am is not None and one_am.count == 1 and one_am.partly_empty
    assert grid.rows[6][2].count == 1 and not grid.rows[6][2].partly_empty


def test_an_unknown_time_zone_stops_the_line_at_start():
    values = from_environment({"PEERLINE_TIMEZONE": "Mars/Olympus_Mons"})
    with pytest.raises(ConfigError, match="PEERLINE_TIMEZONE"):
        finalise(values)
    assert finalise(from_environment({}))["PEERLINE_TIMEZONE"] == "America/New_York"


@pytest.mark.parametrize("fields, message", [
    ({"day": "mon", "on_date": "2030-01-07"}, "either"),
    ({}, "either"),
    ({"day": "funday"}, "mon, tue"),
    ({"day": "mon", "start": "25:00"}, "HH:MM"),
    ({"day": "mon", "start": "9am"}, "HH:MM"),
    ({"day": "mon", "start": "09:00", "end": "09:00"}, "another time"),
    ({"on_date": "2001-01-01"}, "past"),
    ({"on_date": "31/12/2030"}, "YYYY-MM-DD"),
])
def test_bad_shift_times_are_refused_with_a_reason(app, svc, fields, message):
    raw = {"day": None, "on_date": None, "start": "09:00", "end": "12:00", **fields}
    with pytest.raises(shifts.ScheduleError, match=message):
        shifts.parse_when(svc.line, **raw)


def test_add_remove_and_cancel_are_audited_and_change_the_week(app, svc, clock):
    clock.now = datetime(2027, 1, 1, 12, 0)
    alex = add_volunteer(svc, "Alex", ALEX)
    sam = add_volunteer(svc, "Sam", SAM)
    with svc.sessions.begin() as session:
        when = shifts.parse_when(svc.line, day="mon", on_date=None, start="09:00", end="12:00")
        weekly = shifts.add_shift(session, svc.line, CLI_ACTOR, alex, when).id
        when = shifts.parse_when(svc.line, day=None, on_date="2027-01-05", start="22:00",
                                 end="02:00")
        shifts.add_shift(session, svc.line, CLI_ACTOR, sam, when)
    with svc.sessions() as session:
        grid = week.week_coverage(session, svc.line, date(2027, 1, 6))  # any day of it
        assert grid.start == date(2027, 1, 4)
        assert [grid.rows[0][h].count for h in (8, 9, 11, 12)] == [0, 1, 1, 0]
        assert grid.rows[1][23].count == 1 and grid.rows[2][1].count == 1
        assert grid.rows[2][2].count == 0
    with svc.sessions.begin() as session:
        shifts.cancel_date(session, svc.line, "coord@example.org", weekly, "2027-01-11")
        with pytest.raises(shifts.ScheduleError, match="not on tue"):
            shifts.cancel_date(session, svc.line, CLI_ACTOR, weekly, "2027-01-12")
    with svc.sessions() as session:
        assert week.week_coverage(session, svc.line, date(2027, 1, 11)).rows[0][9].count == 0
        assert week.week_coverage(session, svc.line, date(2027, 1, 18)).rows[0][9].count == 1
    with svc.sessions.begin() as session:
        shifts.remove_shift(session, svc.line, CLI_ACTOR, weekly)
        with pytest.raises(shifts.ScheduleError, match="no shift"):
            shifts.remove_shift(session, svc.line, CLI_ACTOR, weekly)
    with svc.sessions() as session:
        assert week.week_coverage(session, svc.line, date(2027, 1, 18)).rows[0][9].count == 0
        actions = [(a.actor, a.action) for a in session.scalars(
            select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == [("cli", "shift.add"), ("cli", "shift.add"),
                       ("coord@example.org", "shift.cancel_date"), ("cli", "shift.remove")]


def test_a_shift_for_someone_off_the_roster_is_refused(app, svc):
    with svc.sessions.begin() as session:
        when = shifts.parse_when(svc.line, day="mon", on_date=None, start="09:00", end="12:00")
        with pytest.raises(shifts.ScheduleError, match="no volunteer"):
            shifts.add_for_phone(session, svc.line, CLI_ACTOR, "+15550100999", when)
        with pytest.raises(shifts.ScheduleError, match="no such active"):
            shifts.add_shift(session, svc.line, CLI_ACTOR, 424242, when)


def test_a_deactivated_volunteers_shifts_count_for_nobody(app, svc, clock):
    clock.now = datetime(2027, 1, 1, 12, 0)
    alex = add_volunteer(svc, "Alex", ALEX)
    with svc.sessions.begin() as session:
        when = shifts.parse_when(svc.line, day="mon", on_date=None, start="09:00", end="12:00")
        shifts.add_shift(session, svc.line, CLI_ACTOR, alex, when)
    with svc.sessions() as session:
        assert week.week_coverage(session, svc.line, date(2027, 1, 4)).rows[0][9].count == 1
    with svc.sessions.begin() as session:
        roster_admin.deactivate(session, svc.line, CLI_ACTOR, alex)
    with svc.sessions() as session:
        assert week.week_coverage(session, svc.line, date(2027, 1, 4)).rows[0][9].count == 0
        assert shifts.list_shifts(session) == []
