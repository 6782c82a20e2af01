"""The dashboard in a real browser: sign in, the live board updates by itself."""

from __future__ import annotations

import os
import threading

import pytest

from .dashboard_helpers import PASSWORD, make_user

CHROMIUM = "/usr/bin/chromium"
SURV = "+15550199001"


@pytest.fixture
def live_server(app):
    """The app behind a real HTTP server in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread_ = threading.Thread(target=server.serve_forever, daemon=True)
    thread_.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread_.join(timeout=10)
        server.server_close()


def test_sign_in_and_watch_a_text_arrive_on_the_live_board(app, svc, phones, live_server):
    if not os.path.exists(CHROMIUM):
        # In CI the browser test runs or fails; only a developer's machine may skip it.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright import sync_api

    # A wait limit, not a timing assertion: a busy 2-core machine can take seconds.
    sync_api.expect.set_options(timeout=30_000)
    make_user(svc, "coord@example.org", "coordinator")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
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
            browser.close()
