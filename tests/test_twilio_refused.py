"""Twilio answering 401 (wrong credentials): held, alerted, shown, resumed, never lost."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from peerline.delivery import gateway_hold
from peerline.models import GatewayHold, OutboundMessage, Task
from peerline.telephony.gateway import GatewayError

from .test_text_line import ALEX, ONCALL, SURV, add_volunteer

HOLD_S = 300


@pytest.fixture
def settings(settings, fake):
    settings.update({"TWILIO_ACCOUNT_SID": fake.account_sid,
                     "TWILIO_AUTH_TOKEN": fake.auth_token, "TWILIO_API_BASE_URL": fake.url,
                     "PEERLINE_GATEWAY": "twilio", "TWILIO_TIMEOUT_S": 0.5,
                     "PEERLINE_GATEWAY_HOLD_S": HOLD_S})
    return settings


def refusals(fake) -> int:
    return fake.faults_seen().get("401", 0)


def sends(svc):
    with svc.sessions() as session:
        return session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()


def held_tasks(svc):
    with svc.sessions() as session:
        return session.scalars(select(Task).where(
            Task.kind == "send", Task.status == "pending",
            Task.last_error == gateway_hold.HELD)).all()


def refuse_everything(phones, fake, caplog):
    """Twilio's credentials rotate under the line; a survivor texts; the offer is held."""
    add_volunteer(phones.svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    fake.configure(auth_token="rotated-elsewhere")
    with caplog.at_level(logging.WARNING):
        assert phones.text(SURV, "hi, anyone there?").status_code == 200
        phones.work()


def test_a_401_holds_every_text_alerts_once_and_stops_retrying(phones, svc, fake, app,
                                                                 caplog, clock):
    refuse_everything(phones, fake, caplog)
    assert refusals(fake) == 1  # one probe, not a retry storm
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "refused the line's credentials" in errors[0].getMessage()
    assert "TWILIO_AUTH_TOKEN" in errors[0].getMessage()
    # Nothing lost: the offer and the on-call alert wait in the outbox, not failed.
    rows = sends(svc)
    assert {r.status for r in rows} == {"queued"}
    to_oncall = [r for r in rows if r.kind == "alert"]
    assert len(to_oncall) == 1 and "refused the line's credentials" in to_oncall[0].body
    assert len(held_tasks(svc)) == len(rows) == 2
    # A coordinator sees it; the web stays up (inbound texts still work).
    health = app.test_client().get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["twilio"]["state"] == "credentials refused"
    assert health.get_json()["twilio"]["texts_held"] == 2
    status = phones.replies(phones.text(ONCALL, "STATUS"))[0]  # a TwiML reply, not REST
    assert "refusing the line's credentials (HTTP 401): 2 text(s) held" in status

    # Within the hold nothing calls Twilio, however often workers look.
    for _ in range(3):
        clock.advance(HOLD_S / 4)
        phones.text(SURV, "still there?")
        phones.work()
    assert refusals(fake) == 1
    # After the hold, one probe; still refused: held again, no second error line.
    clock.advance(HOLD_S)
    caplog.clear()
    phones.work()
    assert refusals(fake) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert {r.status for r in sends(svc)} == {"queued"}

    # Fixed (the account's token again): the next probe sends everything, in order.
    fake.configure(auth_token=svc.config["TWILIO_AUTH_TOKEN"])
    clock.advance(HOLD_S)
    phones.work()
    # The held offer goes first (its time-out ran meanwhile, and is told after it).
    assert "YES" in fake.delivered(ALEX)[0].body
    assert any("refused the line's credentials" in b for b in fake.bodies(ONCALL))
    assert {r.status for r in sends(svc)} == {"sent"}
    assert "twilio" not in app.test_client().get("/healthz").get_json()
    with svc.sessions() as session:
        assert session.get(GatewayHold, 1) is None


def test_a_worker_starting_probes_held_texts_at_once(phones, svc, fake, app, caplog):
    from peerline.commands.worker import _probe_held_texts

    refuse_everything(phones, fake, caplog)
    fake.configure(auth_token=svc.config["TWILIO_AUTH_TOKEN"])
    phones.work()
    assert not fake.delivered(ALEX)  # still held: nobody knows it is fixed yet
    _probe_held_texts(svc)  # what `flask --app wsgi worker` does as it starts
    phones.work()
    assert len(fake.delivered(ALEX)) == 1
    assert {r.status for r in sends(svc)} == {"sent"}


def test_401_and_403_mean_refused_credentials_other_errors_do_not():
    assert GatewayError("x", status=401, code=20003).refused
    assert GatewayError("x", status=403, code=20403).refused
    assert not GatewayError("x", status=429).refused
    assert not GatewayError("x", status=500).refused
    assert not GatewayError("unreachable").refused
