"""The schedule page in a real browser: a coordinator adds a weekly shift and sees the
hours it covers, week after week, and the hours nobody covers marked."""

from __future__ import annotations

import pytest

from . import browser
from .dashboard_helpers import PASSWORD, make_user
from .schedule_helpers import MONDAY, at
from .test_text_line import ALEX, SAM, add_volunteer


@pytest.fixture
def live_server(app):
    """The app behind a real HTTP server in a thread."""
    yield from browser.serve(app)


def hour(page, day: str, hh: int):
    """The week view's cell for a local day and hour."""
    return page.locator(f'#coverage td[data-day="{day}"][data-hour="{hh}"]')


def test_a_coordinator_adds_a_weekly_shift_and_sees_it_covered(app, svc, clock,
                                                               live_server):
    sync_api = browser.playwright()
    expect = sync_api.expect
    clock.now = at(MONDAY, 8)  # Monday 2027-01-04, 08:00 in New York
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    make_user(svc, "coord@example.org", "coordinator")
    with sync_api.sync_playwright() as pw:
        chromium = browser.launch(pw)
        try:
            page = chromium.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            browser.sign_in(page, live_server, "coord@example.org", PASSWORD)

            page.get_by_role("link", name="Schedule").click()
            expect(page).to_have_url(live_server + "/dashboard/schedule")
            expect(page.locator("#coverage")).to_have_attribute("data-week", "2027-01-04")
            expect(hour(page, "2027-01-04", 9)).to_have_class("gap")  # nobody yet
            expect(page.locator("#shifts")).to_contain_text("No shifts scheduled")

            page.get_by_label("Volunteer").select_option(label="Sam")
            page.get_by_label("Every week on").select_option("mon")
            page.get_by_label("Start").fill("09:00")
            page.get_by_label("End").fill("12:00")
            page.get_by_role("button", name="Add shift").click()

            expect(page.locator(".flash")).to_contain_text("mon 09:00-12:00")
            row = page.locator("#shifts tr[data-shift]")
            expect(row).to_have_count(1)
            expect(row.locator("td.name")).to_have_text("Sam")
            expect(row).to_contain_text("mon 09:00-12:00")
            for hh in (9, 10, 11):  # covered: one volunteer each
                expect(hour(page, "2027-01-04", hh)).to_have_class("covered")
                expect(hour(page, "2027-01-04", hh)).to_have_attribute("data-count", "1")
            for day, hh in (("2027-01-04", 8), ("2027-01-04", 12), ("2027-01-05", 9)):
                gap = hour(page, day, hh)  # the hours around it, and Tuesday: gaps
                expect(gap).to_have_class("gap")
                expect(gap).to_have_attribute("data-count", "0")
                expect(gap).to_have_text("0 empty")

            page.get_by_role("link", name="Next week").click()  # weekly: next Monday too
            expect(page.locator("#coverage")).to_have_attribute("data-week", "2027-01-11")
            expect(hour(page, "2027-01-11", 9)).to_have_attribute("data-count", "1")
            expect(hour(page, "2027-01-11", 12)).to_have_class("gap")
            assert errors == []
        finally:
            chromium.close()
