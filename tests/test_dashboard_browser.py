"""The dashboard in a real browser: sign in, the live board updates by itself."""

from __future__ import annotations

import pytest

from . import browser
from .dashboard_helpers import PASSWORD, make_user

SURV = "+15550199001"


@pytest.fixture
def live_server(app):
    """The app behind a real HTTP server in a thread."""
    yield from browser.serve(app)


def test_sign_in_and_watch_a_text_arrive_on_the_live_board(app, svc, phones, live_server):
    sync_api = browser.playwright()
    make_user(svc, "coord@example.org", "coordinator")
    with sync_api.sync_playwright() as pw:
        chromium = browser.launch(pw)
        try:
            page = chromium.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live_server + "/dashboard")
            sync_api.expect(page).to_have_url(live_server + "/login")
            browser.sign_in(page, live_server, "coord@example.org", PASSWORD, go=False)

            waiting = page.locator('[data-board="waiting"]')
            sync_api.expect(waiting).to_have_text("0")
            sync_api.expect(page.locator('[data-board="live"]')).to_have_text("0")
            page.evaluate("window.__sameDocument = true")  # gone if the page reloads

            assert phones.text(SURV, "is anyone there tonight?").status_code == 200
            sync_api.expect(waiting).to_have_text("1")
            assert page.evaluate("window.__sameDocument") is True  # no reload
            assert "anyone there" not in page.content()

            page.get_by_role("link", name="Roster").click()
            sync_api.expect(page).to_have_url(live_server + "/dashboard/roster")
            page.get_by_role("button", name="Sign out").click()
            sync_api.expect(page).to_have_url(live_server + "/login")
            page.goto(live_server + "/dashboard")
            sync_api.expect(page).to_have_url(live_server + "/login")
            assert errors == []
        finally:
            chromium.close()


CSV_ONE_BAD_ROW = (b"name,phone,languages,capacity\n"
                   b"Rita,+15550100011,en,2\n"
                   b"Bad Row,12,en,2\n"
                   b"Tomas,+15550100012,es,1\n")


def test_a_coordinators_shift_in_the_browser(app, svc, phones, live_server):
    """Sign in, add a volunteer, a CSV with one bad row (nothing added), a crisis text
    on the live board without a reload, acknowledge its escalation, sign out."""
    sync_api = browser.playwright()
    expect = sync_api.expect
    make_user(svc, "coord@example.org", "coordinator")
    with sync_api.sync_playwright() as pw:
        chromium = browser.launch(pw)
        try:
            page = chromium.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            browser.sign_in(page, live_server, "coord@example.org", PASSWORD)

            # Add a volunteer.
            page.get_by_role("link", name="Roster").click()
            page.get_by_label("Name").fill("Sam Rivera")
            page.get_by_label("Phone").fill("(555) 010-0002")
            page.get_by_label("Languages").fill("en,es")
            page.get_by_label("Capacity").fill("3")
            page.get_by_role("button", name="Add volunteer").click()
            expect(page.locator(".flash")).to_have_text("Added Sam Rivera.")
            expect(page.locator("#roster td.name")).to_have_text(["Sam Rivera"])
            expect(page.locator("#roster")).to_contain_text("•••• 0002")

            # A CSV with one bad row: the error by row and line, nothing added.
            page.get_by_label("CSV file").set_input_files(files=[{
                "name": "roster.csv", "mimeType": "text/csv", "buffer": CSV_ONE_BAD_ROW}])
            page.get_by_role("button", name="Import").click()
            problems = page.locator('[data-import="errors"]')
            expect(problems).to_contain_text("Nothing was imported")
            expect(problems).to_contain_text("row 2 (line 3)")
            page.get_by_role("link", name="Roster").click()
            expect(page.locator("#roster td.name")).to_have_text(["Sam Rivera"])

            # A crisis text reaches the live board by itself.
            page.get_by_role("link", name="Live board").click()
            waiting = page.locator('[data-board="waiting"]')
            expect(waiting).to_have_text("0")
            page.evaluate("window.__sameDocument = true")
            assert phones.text(SURV, "i want to kms").status_code == 200
            expect(waiting).to_have_text("1")
            expect(page.locator('[data-board="escalations"]')).to_have_text("1")
            expect(page.locator("#board .tag.crisis")).to_have_count(1)
            assert page.evaluate("window.__sameDocument") is True
            assert "kms" not in page.locator("#board").inner_text()

            # Acknowledge it with a note.
            page.get_by_role("link", name="Escalations").click()
            row = page.locator("#escalations tr[data-escalation]")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("kms")  # coordinators see the matched words
            row.get_by_label("Note").fill("called the survivor back")
            row.get_by_role("button", name="Acknowledge").click()
            expect(page.locator(".flash")).to_contain_text("acknowledged")
            expect(page.locator("#escalations tr[data-escalation]")).to_have_count(0)
            page.get_by_label("Show").select_option("acknowledged")
            page.get_by_role("button", name="Filter").click()
            expect(page.locator("#escalations")).to_contain_text("called the survivor back")

            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(live_server + "/login")
            page.goto(live_server + "/dashboard/escalations")
            expect(page).to_have_url(live_server + "/login")
            assert errors == []
        finally:
            chromium.close()
