"""Screenshots of the dashboard for the README, taken in headless Chromium.

    .venv/bin/python -m bench.screenshots [--out docs/screenshots]   (or: make screenshots)

Starts the app on a throwaway SQLite database and an embedded Redis in a temp folder
(whatever DATABASE_URL / REDIS_URL say is ignored: nothing real is touched), seeds a
demo evening through the real webhooks and a real RQ worker (volunteers going on shift,
survivors texting, one in crisis, offers taken, a break, a voicemail), serves it on a
local port, signs in as a demo admin and saves PNGs of the live board, the roster, the
schedule's week view, the escalations, the voicemails, the reports, the groups and the
(masked) settings. Behind the evening (:mod:`bench.demo_data`): a week of scheduled
shifts with some empty hours, four weeks of history for the reports' charts, and group
sessions with past meetings.
Needs Debian's Chromium at /usr/bin/chromium and the test tools (`make install`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright
from rq import SimpleWorker
from sqlalchemy import select
from werkzeug.serving import make_server

from bench import demo_data
from peerline import embedded_redis, schema
from peerline.app import create_app
from peerline.delivery.sweeper import sweep
from peerline.line import utcnow
from peerline.models import Call, Offer, Voicemail
from peerline.people import roster
from peerline.staff import accounts
from peerline.telephony.signature import sign

CHROMIUM = "/usr/bin/chromium"
BASE_URL = "https://screens.peerline.local"
LINES = ("+15550000001", "+15550000002", "+15550000003")
ADMIN, PASSWORD = "admin@peerline.local", "screenshots only"
#: name, phone, languages, capacity, goes on shift
VOLUNTEERS = (("Alex Moreno", "+15550100001", "en,es", 3, True),
              ("Sam Okafor", "+15550100002", "en", 2, True),
              ("Priya Shah", "+15550100003", "en", 2, True),
              ("Marta Ruiz", "+15550100004", "es", 2, True),
              ("Jordan Lee", "+15550100005", "en", 2, False))
#: Pages to take (file name, path), if the app answers them with 200.
PAGES = (("board", "/dashboard"), ("roster", "/dashboard/roster"),
         ("schedule", "/dashboard/schedule"), ("escalations", "/dashboard/escalations"),
         ("voicemails", "/dashboard/voicemails"), ("reports", "/dashboard/reports"),
         ("groups", "/dashboard/groups"), ("settings", "/dashboard/settings"))
#: Pages cut at this height (pixels): the reports' charts and the first hours of the
#: 168-row staffing table, not all of it.
CUT = {"reports": 2900}
WIDTH = 1280


class Clock:
    """The demo's clock: starts in the past and is moved by hand to the present."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        """Move the demo on."""
        self.now += timedelta(minutes=minutes)


class Demo:
    """Drives the app as phones would: signed webhooks in, a real RQ worker between."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.svc = app.extensions["peerline"]
        self.client = app.test_client()
        self.sids = count(1)

    def text(self, from_: str, body: str, to: str = LINES[0]) -> None:
        """A signed inbound text."""
        params = {"MessageSid": f"SM{next(self.sids):032d}", "From": from_, "To": to,
                  "Body": body, "NumMedia": "0"}
        signature = sign(BASE_URL + "/sms/inbound", params, self.app.config["SIGNING_TOKEN"])
        response = self.client.post("/sms/inbound", data=params,
                                    headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.status_code

    def work(self) -> None:
        """Run what is due (a burst of a real worker, the sweeper before it)."""
        for _ in range(5):
            sweep(self.svc)
            SimpleWorker([self.svc.queue()], connection=self.svc.redis()).work(
                burst=True, logging_level="WARNING")

    def take_offers(self, limit: int) -> None:
        """Volunteers answer YES to the pending offers, up to ``limit`` of them."""
        with self.svc.sessions() as session:
            offers = session.scalars(select(Offer).where(Offer.status == "pending")
                                     .order_by(Offer.id)).all()
            answers = []
            for offer in offers[:limit]:
                phone = self.svc.line.vault.decrypt(offer.volunteer.phone_enc)
                answers.append((phone, offer.line_number))
        for phone, line_number in answers:
            self.text(phone, "YES", to=line_number)
            self.work()


def seed(app: Any, clock: Clock) -> None:
    """A demo evening: who is on shift, who talks, who waits, a crisis, a voicemail."""
    svc = app.extensions["peerline"]
    demo = Demo(app)
    with svc.sessions.begin() as session:
        accounts.add_user(session, svc.line, ADMIN, PASSWORD, "admin", "screenshots")
        for name, phone, langs, capacity, _ in VOLUNTEERS:
            roster.add_volunteer(session, svc.line, name, phone, langs, capacity, pin="2468")
    for _, phone, _, _, on_shift in VOLUNTEERS:
        if on_shift:
            demo.text(phone, "ON")
    demo.work()
    survivors = [("+15550199001", "hi, is anyone there? rough night"),
                 ("+15550199002", "i want to end it all tonight"),
                 ("+15550199003", "hola, necesito hablar con alguien")]
    for phone, body in survivors:  # each offer taken at once (offers time out in 60 s)
        demo.text(phone, body)
        demo.work()
        demo.take_offers(limit=1)
        clock.advance(7)
    clock.advance(5)
    demo.text(VOLUNTEERS[2][1], "BREAK 45")  # Priya (no live conversation): a break
    # Later arrivals wait (no worker runs from here: nobody is offered them yet), one in
    # crisis (first in line).
    for phone, body, gap in (("+15550199004", "can someone text me back", 9),
                             ("+15550199005", "i keep thinking about hurting myself", 4),
                             ("+15550199006", "just need to talk to someone", 2)):
        demo.text(phone, body)
        clock.advance(gap)
    with svc.sessions.begin() as session:
        for i, (lang, crisis, minutes) in enumerate((("en", False, 31), ("es", True, 12))):
            call = Call(sid=f"CA{i:032d}", role="survivor", stage="done", withheld=False,
                        line_number=LINES[0], lang=lang, priority=int(crisis),
                        created_at=clock() - timedelta(minutes=minutes))
            session.add(call)
            session.flush()
            session.add(Voicemail(call_id=call.id, status="new", lang=lang,
                                  priority=int(crisis), duration_s=40 + 10 * i, attempts=0,
                                  created_at=call.created_at))
    # The background, added after the evening (no sweep runs again, so the schedule does
    # not move anyone on or off shift in the pictures).
    demo_data.seed_schedule(svc, ADMIN)
    demo_data.seed_history(svc, LINES)
    demo_data.seed_groups(svc, ADMIN, (VOLUNTEERS[1][1], VOLUNTEERS[3][1]))


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app on a local port in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def shoot(url: str, out: Path) -> list[Path]:
    """Sign in and save one PNG per page that answers."""
    saved = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 860})
            page.goto(url + "/login")
            page.get_by_label("Email").fill(ADMIN)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(url + "/dashboard")
            for name, path in PAGES:
                response = page.goto(url + path)
                if response is None or response.status != 200:
                    print(f"skipped {path} ({response.status if response else 'no answer'})")
                    continue
                target = out / f"{name}.png"
                height = page.evaluate("document.documentElement.scrollHeight")
                clip = {"x": 0, "y": 0, "width": WIDTH,
                        "height": min(height, CUT.get(name, height))}
                page.screenshot(path=str(target), full_page=True, clip=clip)
                saved.append(target)
        finally:
            browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    """Seed, serve, shoot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print(f"needs Chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="peerline-screens-")
    now = utcnow().replace(second=0, microsecond=0)
    clock = Clock(now - timedelta(minutes=50))
    app = create_app({"PEERLINE_INSTANCE_DIR": tmp, "DATABASE_URL": "", "REDIS_URL": "",
                      "PEERLINE_GATEWAY": "local", "PUBLIC_BASE_URL": BASE_URL,
                      "PEERLINE_COOKIE_SECURE": "0", "TWILIO_AUTH_TOKEN": "screens",
                      "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                      "PEERLINE_NUMBERS": ",".join(LINES), "PEERLINE_ONCALL_NUMBER": "",
                      "SECRET_KEY": "screenshots-only"}, clock=clock)
    try:
        schema.upgrade(app.extensions["peerline"].engine)
        with app.app_context():
            seed(app, clock)
            clock.now = max(clock.now, now)
            with served(app) as url:
                saved = shoot(url, out)
    finally:
        app.extensions["peerline"].engine.dispose()
        embedded_redis.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    for path in saved:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
