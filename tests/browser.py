"""A real browser for the suite: Debian's Chromium driven by Playwright, and the app
behind a real HTTP server. In CI a browser test runs or fails, never skips."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"


def playwright() -> Any:
    """Playwright's sync API, once Chromium is known to be there."""
    if not os.path.exists(CHROMIUM):
        # In CI the browser test runs or fails; only a developer's machine may skip it.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright import sync_api

    # A wait limit, not a timing assertion: a busy 2-core machine can take seconds.
    sync_api.expect.set_options(timeout=30_000)
    return sync_api


def launch(pw: Any) -> Any:
    """Headless Chromium with the flags this closed network needs."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])


def serve(app: Any) -> Iterator[str]:
    """The app behind a real HTTP server in a thread (a fixture body)."""
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


def sign_in(page: Any, base: str, email: str, password: str, *, go: bool = True) -> None:
    """Sign in through the login form (opening /login first unless already there) and
    wait to land on /dashboard."""
    from playwright import sync_api

    if go:
        page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    sync_api.expect(page).to_have_url(base + "/dashboard")
