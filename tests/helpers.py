"""Test helpers: a movable clock, signed webhooks, the phone network, a worker run."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from sqlalchemy import select

from peerline.delivery.sweeper import sweep
from peerline.extensions import RUN_TASK, Services
from peerline.line import utcnow
from peerline.models import LocalMessage, Task
from peerline.telephony.signature import sign

LINE = "+15550000001"
LINE2 = "+15550000002"
LINE3 = "+15550000003"
BASE_URL = "https://peerline.example.org"
_sids = itertools.count(1)


class Clock:
    """A clock tests move by hand (the edge of the world)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += timedelta(seconds=seconds)


def new_sid(prefix: str = "SM") -> str:
    """A fresh Twilio-looking sid."""
    return f"{prefix}{next(_sids):032d}"


class Phones:
    """Drives the line as phones would: signed webhooks in, the gateway's record out."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self.svc: Services = app.extensions["peerline"]

    def post(self, path: str, params: dict[str, str], *, signed: bool = True,
             token: str | None = None, query: str = "") -> Any:
        """POST form params to ``path`` signed as Twilio signs them."""
        url = BASE_URL + path + (f"?{query}" if query else "")
        headers = {}
        if signed:
            headers["X-Twilio-Signature"] = sign(url, params,
                                                 token or self.app.config["SIGNING_TOKEN"])
        return self.client.post(path + (f"?{query}" if query else ""), data=params,
                                headers=headers)

    def text(self, from_: str, body: str, to: str = LINE, sid: str | None = None,
             **extra: str) -> Any:
        """A text from ``from_`` to a line number; returns the webhook response."""
        params = {"MessageSid": sid or new_sid(), "AccountSid": "AC" + "0" * 32,
                  "From": from_, "To": to, "Body": body, "NumMedia": "0",
                  "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        params.update(extra)
        return self.post("/sms/inbound", params)

    def pair(self, volunteer: str, survivor: str, body: str = "hi") -> str:
        """Volunteer goes ON, survivor texts, volunteer says YES: the line number they use."""
        self.text(volunteer, "ON")
        self.text(survivor, body)
        self.work()
        number = self.received(volunteer)[-1][0]
        self.text(volunteer, "YES", to=number)
        self.work()
        return number

    def replies(self, response: Any) -> list[str]:
        """The ``<Message>`` texts of a TwiML response."""
        import xml.etree.ElementTree as ET

        assert response.status_code == 200, response.data
        root = ET.fromstring(response.data)
        return [m.text or "" for m in root.iter("Message")]

    def received(self, number: str) -> list[tuple[str, str]]:
        """(from line number, body) of every text the gateway delivered to ``number``."""
        vault = self.svc.line.vault
        with self.svc.sessions() as session:
            rows = session.scalars(select(LocalMessage).where(
                LocalMessage.to_hash == vault.hash(number), LocalMessage.kind == "sms")
                .order_by(LocalMessage.id)).all()
            return [(r.from_number, r.body) for r in rows]

    def bodies(self, number: str) -> list[str]:
        """Just the bodies received by ``number``."""
        return [body for _, body in self.received(number)]

    def all_sent(self) -> list[LocalMessage]:
        """Every recorded outbound text."""
        with self.svc.sessions() as session:
            return list(session.scalars(select(LocalMessage).order_by(LocalMessage.id)))

    def in_turn(self, survivors: list[str] | tuple[str, ...],
                body: str = "hi, I need to talk to someone") -> None:
        """Each survivor texts the line a second after the one before, and the workers
        run after each (so the queue holds them in that order)."""
        for survivor in survivors:
            self.text(survivor, body)
            self.svc.line.clock.advance(1)
            self.work()

    def work(self, rounds: int = 20) -> None:
        """Run a real RQ worker (burst) and the sweeper until nothing due is left."""
        queue = self.svc.queue()
        for _ in range(rounds):
            sweep(self.svc)
            SimpleWorker([queue], connection=self.svc.redis()).work(
                burst=True, logging_level="WARNING")
            now = self.svc.line.now()
            with self.svc.sessions() as session:
                due = session.scalars(select(Task.id).where(
                    Task.status == "pending", Task.not_before <= now)).all()
                upcoming = session.scalar(select(Task.not_before).where(
                    Task.status == "pending").order_by(Task.not_before).limit(1))
            if not due:
                # A short retry delay (a text waiting behind another) passes; longer
                # timers (offer time-outs, idle closes) wait for the test to move time.
                if upcoming is None or upcoming > now + timedelta(seconds=3):
                    return
                self.svc.line.clock.advance((upcoming - now).total_seconds())
                continue
            for task_id in due:  # what the sweeper would re-enqueue a little later
                queue.enqueue(RUN_TASK, task_id)
        raise AssertionError("tasks still due after many worker rounds")
