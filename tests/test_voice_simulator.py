"""The call simulator page drives the real /voice/* routes with signed webhooks."""

from __future__ import annotations

import json

from sqlalchemy import select

from peerline.app import create_app
from peerline.models import Call
from peerline.simulator import live_calls

from .conftest import _wipe
from .helpers import LINE
from .test_text_line import ALEX
from .test_voice import CALLER, volunteers_on


def hook(client, url, **params):
    base = {"CallSid": "CAsim0001", "AccountSid": "AC" + "0" * 32, "From": CALLER,
            "To": LINE, "CallStatus": "in-progress", "Direction": "inbound"}
    base.update(params)
    response = client.post("/simulator/call/api/webhook", json={"url": url, "params": base})
    assert response.status_code == 200, response.data
    return response.get_json()


def test_the_page_and_a_whole_call_through_the_simulator(phones, svc, app):
    client = app.test_client()
    page = client.get("/simulator/call")
    assert page.status_code == 200 and b"call simulator" in page.data
    volunteers_on(svc, (ALEX, "en"))
    menu = hook(client, "/voice/inbound", CallStatus="ringing")
    assert menu["status"] == 200
    gather = menu["steps"][0]
    assert gather["verb"] == "Gather" and "speech" in gather["attrs"]["input"]
    assert any("press 1" in c["text"].lower() for c in gather["children"])
    queued = hook(client, gather["attrs"]["action"], Digits="1")
    verbs = [s["verb"] for s in queued["steps"]]
    assert verbs == ["Say", "Enqueue"]
    hold = hook(client, queued["steps"][1]["attrs"]["waitUrl"], QueueTime="3")
    assert "number 1 in line" in hold["steps"][0]["children"][0]["text"]
    phones.work()
    ring = client.get(f"/simulator/call/api/incoming?number={ALEX}").get_json()["calls"][0]
    assert ring["from"] == LINE and ring["url"].startswith("/voice/ring?ring=")
    whisper = hook(client, ring["url"], CallSid=ring["sid"], From=LINE, To=ALEX,
                   Direction="outbound-api")
    bridge = hook(client, whisper["steps"][0]["attrs"]["action"], CallSid=ring["sid"],
                  From=LINE, To=ALEX, Digits="1")
    assert [s["verb"] for s in bridge["steps"]] == ["Say", "Dial"]
    assert bridge["steps"][1]["children"][0]["verb"] == "Conference"
    phones.work()
    moved = client.get("/simulator/call/api/updates?sid=CAsim0001").get_json()["updates"]
    assert moved[0]["url"].startswith("/voice/join?call=")
    people = client.get("/simulator/call/api/volunteers").get_json()["volunteers"]
    assert people[0]["phone"] == ALEX and people[0]["on_call"]


def test_the_simulator_only_posts_to_voice_routes(app):
    client = app.test_client()
    response = client.post("/simulator/call/api/webhook",
                           json={"url": "/sms/inbound", "params": {}})
    assert response.status_code == 400
    assert client.get("/simulator/call/api/incoming?number=nope").status_code == 400


def test_the_simulator_does_not_exist_on_a_real_deployment(settings, clock):
    app = create_app({**settings, "PEERLINE_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC1"},
                     clock=clock)
    _wipe(app)
    with app.app_context():
        client = app.test_client()
        assert client.get("/simulator/call").status_code == 404
        assert client.post("/simulator/call/api/webhook", json={}).status_code == 404
    app.extensions["peerline"].engine.dispose()


def test_a_page_that_goes_away_leaves_no_ghost_call_in_the_queue(phones, svc, app, clock):
    volunteers_on(svc, (ALEX, "en"))
    client = app.test_client()

    def queue_call(sid):
        menu = hook(client, "/voice/inbound", CallSid=sid, CallStatus="ringing")
        queued = hook(client, menu["steps"][0]["attrs"]["action"], CallSid=sid, Digits="1")
        assert queued["steps"][1]["verb"] == "Enqueue"
        return queued["steps"][1]["attrs"]["action"]

    def ended(sid):
        with svc.sessions() as session:
            call = session.scalars(select(Call).where(Call.sid == sid)).one()
            return call.ended_at is not None and call.outcome == "abandoned"

    # The tab's pagehide beacon (text/plain is fine): the queue's hang-up, then the status.
    action = queue_call("CAsim0001")
    beacon = client.post("/simulator/call/api/hangup", content_type="text/plain",
                         data=json.dumps({"sid": "CAsim0001", "direction": "inbound",
                                          "queue_action": action, "queue_time": "4"}))
    assert beacon.status_code == 200 and beacon.get_json()["status"] == 204
    assert ended("CAsim0001")
    # No beacon at all: once idle past the limit, the next simulator request hangs it up.
    queue_call("CAsim0002")
    clock.advance(live_calls.IDLE_HANGUP_S - 5)
    client.get("/simulator/call/api/updates?sid=CAsim0002")  # the page still watches it
    clock.advance(live_calls.IDLE_HANGUP_S - 5)
    client.get("/simulator/call/api/volunteers")
    assert not ended("CAsim0002")
    clock.advance(10)
    client.get("/simulator/call/api/volunteers")
    assert ended("CAsim0002")
