"""The dashboard's schedule page: the week view (counts, empty hours, week by week), the
shifts; coordinators add and remove (audited), viewers read, CSRF refused without token."""

from __future__ import annotations

import re

from sqlalchemy import select

from peerline.models import AuditEntry, Shift

from .dashboard_helpers import post, signed_in
from .schedule_helpers import MONDAY, at, schedule
from .test_text_line import ALEX, SAM, add_volunteer


def cell(html, day, hour):
    match = re.search(rf'data-day="{day}" data-hour="{hour}" data-count="(\d+)"', html)
    assert match, (day, hour)
    return int(match.group(1))


def test_the_week_view_counts_marks_empty_hours_and_moves_by_week(app, svc, clock):
    clock.now = at(MONDAY, 8)
    alex = add_volunteer(svc, "Alex", ALEX)
    sam = add_volunteer(svc, "Sam", SAM)
    schedule(svc, alex, "09:00", "12:00", day="mon")
    schedule(svc, sam, "10:00", "11:00", on_date="2027-01-04")
    viewer = signed_in(app, svc, "viewer")
    page = viewer.get("/dashboard/schedule")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert cell(html, "2027-01-04", 9) == 1 and cell(html, "2027-01-04", 10) == 2
    assert cell(html, "2027-01-04", 12) == 0
    assert 'class="gap" data-day="2027-01-04" data-hour="12"' in html
    assert "165 empty hours" in html  # 168 hours, three covered
    assert "Alex" in html and "mon 09:00-12:00" in html and "0100001" not in html
    assert "Add a shift" not in html and "Remove" not in html  # a viewer only reads
    assert 'href="/dashboard/schedule"' in viewer.get("/dashboard").get_data(as_text=True)
    html = viewer.get("/dashboard/schedule?week=2027-01-13").get_data(as_text=True)
    assert 'data-week="2027-01-11"' in html
    assert cell(html, "2027-01-11", 9) == 1 and cell(html, "2027-01-11", 10) == 1
    assert "week=2027-01-04" in html and "week=2027-01-18" in html
    assert viewer.get("/dashboard/schedule?week=soon").status_code == 400


def test_spring_forward_week_shows_the_missing_hour(app, svc, clock):
    viewer = signed_in(app, svc, "viewer")
    html = viewer.get("/dashboard/schedule?week=2027-03-14").get_data(as_text=True)
    assert 'data-day="2027-03-14" data-hour="2"' not in html
    assert 'data-day="2027-03-14" data-hour="3"' in html and "does not exist" in html


def test_a_coordinator_adds_cancels_a_date_and_removes_audited(app, svc, clock):
    clock.now = at(MONDAY, 8)
    alex = add_volunteer(svc, "Alex", ALEX)
    coord = signed_in(app, svc, "coordinator", "coord@example.org")
    page = "/dashboard/schedule"
    response = post(coord, page, {"volunteer": alex, "day": "mon", "date": "",
                                  "start": "22:00", "end": "02:00"}, page=page)
    assert response.status_code == 302
    with svc.sessions() as session:
        shift_id = session.scalar(select(Shift.id))
    html = coord.get(page).get_data(as_text=True)
    assert "mon 22:00-02:00" in html and cell(html, "2027-01-05", 1) == 1
    bad = post(coord, page, {"volunteer": alex, "day": "mon", "date": "2027-01-05",
                             "start": "09:00", "end": "10:00"}, page=page)
    assert bad.status_code == 400 and "either a weekday" in bad.get_data(as_text=True)
    bad = post(coord, page, {"volunteer": alex, "day": "", "date": "", "start": "9",
                             "end": "10:00"}, page=page)
    assert bad.status_code == 400
    cancel = post(coord, f"/dashboard/schedule/{shift_id}/cancel", {"date": "2027-01-11"},
                  page=page)
    assert cancel.status_code == 302
    html = coord.get(page + "?week=2027-01-11").get_data(as_text=True)
    assert "2027-01-11" in html and cell(html, "2027-01-12", 1) == 0
    wrong = post(coord, f"/dashboard/schedule/{shift_id}/cancel", {"date": "2027-01-12"},
                 page=page)
    assert wrong.status_code == 400 and "not on tue" in wrong.get_data(as_text=True)
    assert post(coord, f"/dashboard/schedule/{shift_id}/remove", page=page).status_code == 302
    assert "No shifts scheduled" in coord.get(page).get_data(as_text=True)
    assert post(coord, f"/dashboard/schedule/{shift_id}/remove", page=page).status_code == 404
    with svc.sessions() as session:
        rows = [(a.actor, a.action) for a in session.scalars(select(AuditEntry).where(
            AuditEntry.action.like("shift.%")).order_by(AuditEntry.id))]
    assert rows == [("coord@example.org", "shift.add"),
                    ("coord@example.org", "shift.cancel_date"),
                    ("coord@example.org", "shift.remove")]


def test_a_viewer_gets_403_and_no_token_gets_400(app, svc, clock):
    clock.now = at(MONDAY, 8)
    alex = add_volunteer(svc, "Alex", ALEX)
    shift_id = schedule(svc, alex, "09:00", "12:00", day="mon")
    viewer = signed_in(app, svc, "viewer")
    page = "/dashboard/schedule"
    data = {"volunteer": alex, "day": "tue", "start": "09:00", "end": "10:00"}
    assert post(viewer, page, data, page=page).status_code == 403
    assert post(viewer, f"{page}/{shift_id}/remove", page=page).status_code == 403
    assert post(viewer, f"{page}/{shift_id}/cancel", {"date": "2027-01-11"},
                page=page).status_code == 403
    coord = signed_in(app, svc, "coordinator")
    assert coord.post(page, data=data).status_code == 400
    assert coord.post(f"{page}/{shift_id}/remove").status_code == 400
    with svc.sessions() as session:
        assert len(session.scalars(select(Shift).where(Shift.removed_at.is_(None))).all()) == 1
    assert app.test_client().get(page).status_code == 302  # signed out: to /login
