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
            page.get_by_label("Email").fill("coord@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            sync_api.expect(page).to_have_url(live_server + "/dashboard")

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
