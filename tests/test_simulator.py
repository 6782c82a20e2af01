"""The phone simulator: the page, its API through the real webhook, and a real browser."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from peerline.app import create_app
from peerline.models import Call, Escalation, Message
from peerline.people import roster
from peerline.simulator import webhook
from peerline.telephony.signature import sign

from . import browser
from .helpers import LINE, LINE2, LINE3

ALEX = "+15550100001"
SAM = "+15550100002"
SURV = "+15550199001"


def add_volunteer(svc, name, phone, lang="en"):
    with svc.sessions.begin() as session:
        return roster.add_volunteer(session, svc.line, name, phone, lang).id


def send(client, from_, body, to=LINE, **extra):
    return client.post("/simulator/api/send", json={"from": from_, "to": to, "body": body,
                                                     **extra})


def inbox(client, *numbers):
    response = client.post("/simulator/api/inbox", json={"phones": list(numbers)})
    assert response.status_code == 200, response.data
    return {p["number"]: p for p in response.get_json()["phones"]}


def thread(phone, line):
    return next(t["items"] for t in phone["threads"] if t["line"] == line)


def test_page_lists_lines_survivor_phones_and_the_roster(app, svc):
    add_volunteer(svc, "Alex (demo)", ALEX, "en,es")
    client = app.test_client()
    page = client.get("/simulator")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Alex (demo)" in html and ALEX in html
    assert SURV in html and LINE2 in html
    assert 'href="/simulator/call"' in html
    assert "/simulator/static/simulator.js" in html
    for asset in ("simulator.js", "simulator.css"):
        response = client.get(f"/simulator/static/{asset}")
        assert response.status_code == 200
        response.close()
    listing = client.get("/simulator/api/phones").get_json()
    assert listing["lines"] == [LINE, LINE2, LINE3]
    assert listing["volunteers"][0]["number"] == ALEX
    assert listing["volunteers"][0]["on_shift"] is False


def test_a_survivor_text_runs_the_real_webhook_and_shows_its_reply(app, svc):
    client = app.test_client()
    response = send(client, "+1 555 019 9001", "hi, is anyone there?")
    assert response.status_code == 200, response.data
    answer = response.get_json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", answer["sid"])
    assert any("peer" in r for r in answer["replies"])  # the welcome, as TwiML

    with svc.sessions() as session:
        stored = session.scalars(select(Message)).one()
    assert stored.sid == answer["sid"] and stored.sender == "survivor"
    assert stored.sender_hash == svc.line.vault.hash(SURV) and stored.line_number == LINE

    phone = inbox(client, SURV)[SURV]
    assert phone["role"] == "survivor"
    items = thread(phone, LINE)
    assert items[0] == {"direction": "out", "body": "hi, is anyone there?", "at": items[0]["at"],
                        "source": "sent", "media": 0, "kind": "text"}
    assert [i["body"] for i in items[1:]] == answer["replies"]
    assert all(i["source"] == "reply" and i["direction"] == "in" for i in items[1:])


def test_texts_the_worker_delivers_appear_in_threads(app, svc, phones):
    add_volunteer(svc, "Alex", ALEX)
    client = app.test_client()
    assert "on shift" in send(client, ALEX, "ON").get_json()["replies"][0]
    send(client, SURV, "I had a rough night")
    phones.work()

    alex = inbox(client, ALEX)[ALEX]
    assert alex["role"] == "volunteer" and alex["name"] == "Alex"
    offer_line, offer = phones.received(ALEX)[-1]
    items = thread(alex, offer_line)
    assert items[-1]["source"] == "delivered" and items[-1]["body"] == offer
    assert "rough night" in offer

    assert send(client, ALEX, "YES", to=offer_line).status_code == 200
    phones.work()
    send(client, ALEX, "I'm here, want to talk?", to=offer_line)
    phones.work()
    surv = inbox(client, SURV)[SURV]
    bodies = [(i["direction"], i["source"], i["body"]) for i in thread(surv, LINE)]
    assert bodies[0] == ("out", "sent", "I had a rough night")
    assert ("in", "delivered", "I'm here, want to talk?") == bodies[-1]
    assert any("peer volunteer is here" in b for _, _, b in bodies)
    # The volunteer's thread keeps cause before effect: ON, its reply, then the offer...
    alex = inbox(client, ALEX)[ALEX]
    sources = [(i["direction"], i["source"]) for t in alex["threads"] for i in t["items"]]
    assert ("out", "sent") in sources and ("in", "delivered") in sources
    offer_items = thread(alex, offer_line)
    assert offer_items.index(next(i for i in offer_items if i["body"] == "YES")) > \
        offer_items.index(next(i for i in offer_items if i["body"] == offer))
    roster_row = client.get("/simulator/api/phones").get_json()["volunteers"][0]
    assert roster_row["on_shift"] is True and roster_row["live"] == 1


def test_mms_toggle_sends_media_params(app, svc):
    client = app.test_client()
    answer = send(client, SURV, "", media=True).get_json()
    assert answer["sid"].startswith("MM")
    assert any("media" in r.lower() or "pictures" in r.lower() for r in answer["replies"])
    with svc.sessions() as session:
        assert session.scalar(select(Message.num_media)) == 1
    item = thread(inbox(client, SURV)[SURV], LINE)[0]
    assert item["media"] == 1


def test_twiml_replies_are_kept_under_a_hash_never_a_number(app, svc):
    send(app.test_client(), SURV, "hello")
    keys = [k.decode() for k in svc.redis().keys("peerline:simulator:*")]
    assert keys == [webhook.replies_key(svc.line.vault.hash(SURV))]
    assert not any("555" in k for k in keys)


def test_params_are_what_twilio_sends_and_verify():
    params = webhook.twilio_params(SURV, LINE, "hola ¿qué tal?")
    assert params["NumMedia"] == "0" and params["SmsStatus"] == "received"
    assert params["ApiVersion"] == "2010-04-01" and re.fullmatch(r"AC[0-9a-f]{32}",
                                                                 params["AccountSid"])
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"]
    assert webhook.num_segments("a" * 160) == 1 and webhook.num_segments("a" * 161) == 2
    assert webhook.num_segments("é" * 160) == 1  # é is in the GSM set
    assert webhook.num_segments("😀" * 36) == 2  # UCS-2: two code units each
    mms = webhook.twilio_params(SURV, LINE, "", media=True)
    assert mms["NumMedia"] == "1" and mms["MediaUrl0"].startswith("https://")
    # Twilio's documented vector, through the same sign() the simulator uses.
    assert sign("https://mycompany.com/myapp.php?foo=1&bar=2",
                {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                 "From": "+14158675309", "To": "+18005551212"},
                "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize("payload, reason", [
    ("not json", "JSON"),
    ({"from": "nope", "to": LINE, "body": "hi"}, "from"),
    ({"from": SURV, "to": "+15550123456", "body": "hi"}, "line's numbers"),
    ({"from": LINE2, "to": LINE, "body": "hi"}, "from"),
    ({"from": SURV, "to": LINE, "body": "   "}, "empty"),
    ({"from": SURV, "to": LINE, "body": 5}, "body"),
    ({"from": SURV, "to": LINE, "body": "x" * 1601}, "body"),
    ({"from": SURV, "to": LINE, "body": "hi", "media": "yes"}, "media"),
    ([SURV], "JSON"),
])
def test_bad_send_input_is_a_clear_400(app, svc, payload, reason):
    client = app.test_client()
    if isinstance(payload, str):
        response = client.post("/simulator/api/send", data=payload,
                               content_type="text/plain")
    else:
        response = client.post("/simulator/api/send", json=payload)
    assert response.status_code == 400
    assert reason in response.get_json()["error"]
    with svc.sessions() as session:
        assert session.scalar(select(Message.id)) is None


@pytest.mark.parametrize("payload", [{}, {"phones": "x"}, {"phones": ["abc"]},
                                     {"phones": [SURV] * 13}])
def test_bad_inbox_input_is_a_clear_400(app, payload):
    response = app.test_client().post("/simulator/api/inbox", json=payload)
    assert response.status_code == 400 and response.get_json()["error"]


def test_the_simulator_does_not_exist_on_the_twilio_gateway(settings, clock):
    settings["PEERLINE_GATEWAY"] = "twilio"
    settings["TWILIO_ACCOUNT_SID"] = "AC" + "0" * 32
    twilio_app = create_app(dict(settings), clock=clock)
    client = twilio_app.test_client()
    try:
        for path in ("/simulator", "/simulator/", "/simulator/api/phones",
                     "/simulator/static/simulator.js"):
            assert client.get(path).status_code == 404, path
        for path in ("/simulator/api/send", "/simulator/api/inbox"):
            response = client.post(path, json={"from": SURV, "to": LINE, "body": "hi"})
            assert response.status_code == 404
        # Not merely guarded: the routes do not exist (see test_config for every rule).
        assert not [r.rule for r in twilio_app.url_map.iter_rules()
                    if r.rule.startswith("/simulator")]
        # The real webhook still stands, signature-checked; the front page is the dashboard.
        assert client.post("/sms/inbound", data={"Body": "x"}).status_code == 403
        assert client.get("/").headers["Location"] == "/dashboard"
    finally:
        twilio_app.extensions["peerline"].engine.dispose()


def test_the_front_page_of_the_local_line_is_the_simulator(app):
    assert app.test_client().get("/").headers["Location"] == "/simulator"


def test_the_signature_uses_localhost_without_a_public_base_url(settings, clock):
    settings["PUBLIC_BASE_URL"] = ""
    bare = create_app(dict(settings), clock=clock)
    try:
        with bare.app_context():
            from .conftest import _wipe

            _wipe(bare)
            response = send(bare.test_client(), SURV, "hello")
            assert response.status_code == 200, response.data
            assert response.get_json()["replies"]
    finally:
        bare.extensions["peerline"].engine.dispose()


# --- a real browser ------------------------------------------------------------------

@pytest.fixture
def live_server(app):
    """The app behind a real HTTP server in a thread."""
    yield from browser.serve(app)


def _playwright():  # noqa: ANN202
    return browser.playwright()


def _launch(pw):  # noqa: ANN001, ANN202
    return browser.launch(pw)


def _inside(page, locator, width: int) -> None:  # noqa: ANN001
    """Every element of ``locator`` lies within the page's width (none off-screen)."""
    for box in (locator.nth(i).bounding_box() for i in range(locator.count())):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def test_a_survivor_texts_from_the_browser_and_sees_the_reply(app, svc, live_server):
    sync_api = _playwright()
    add_volunteer(svc, "Alex (demo)", ALEX)
    add_volunteer(svc, "Sam (demo)", SAM)
    with sync_api.sync_playwright() as pw:
        chromium = _launch(pw)
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live_server + "/simulator")
            survivor = page.locator(f'section.phone[data-phone="{SURV}"]')
            sync_api.expect(survivor).to_be_visible()
            sync_api.expect(page.locator(f'section.phone[data-phone="{ALEX}"]')).to_be_visible()
            sync_api.expect(page.locator("a#call-link")).to_have_attribute(
                "href", "/simulator/call")

            survivor.locator("textarea.body").fill("hi, is anyone there tonight?")
            survivor.locator("button.send").click()
            messages = survivor.locator(".messages")
            sync_api.expect(messages.locator(".msg.out .text")).to_have_text(
                ["hi, is anyone there tonight?"])
            sync_api.expect(messages.locator(".msg.src-reply").first).to_contain_text("peer")
            sync_api.expect(survivor.locator("textarea.body")).to_have_value("")

            # A quick command from the volunteer's phone, answered by the line.
            alex = page.locator(f'section.phone[data-phone="{ALEX}"]')
            alex.get_by_role("button", name="ON", exact=True).click()
            sync_api.expect(alex.locator(".msg.src-reply")).to_contain_text(["on shift"])
            sync_api.expect(page.locator("#volunteer-list .shift.on")).to_have_count(1)

            # Four phones (survivor, two volunteers, the coordinator with its commands):
            # none lands off-screen, wide or narrow; they wrap, and the page scrolls.
            coordinator = page.locator("section.phone.oncall")
            sync_api.expect(coordinator.get_by_role("button", name="STATUS")).to_be_visible()
            phones = page.locator("section.phone")
            sync_api.expect(phones).to_have_count(4)
            for width in (1280, 600):
                page.set_viewport_size({"width": width, "height": 800})
                _inside(page, phones, width)
            assert errors == []
        finally:
            chromium.close()


def test_a_call_from_the_browser_rings_stops_ringing_and_never_leaves_a_ghost(
        app, svc, phones, live_server):
    sync_api = _playwright()
    add_volunteer(svc, "Alex (demo)", ALEX)
    assert "on shift" in phones.replies(phones.text(ALEX, "ON"))[0]

    def calls_in_queue() -> int:
        with svc.sessions() as session:
            return len(session.scalars(select(Call).where(Call.ended_at.is_(None))).all())

    with sync_api.sync_playwright() as pw:
        chromium = _launch(pw)
        try:
            page = chromium.new_page(viewport={"width": 600, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live_server + "/simulator/call")
            survivor, volunteer = page.locator(".phone").nth(0), page.locator(".phone").nth(1)
            sync_api.expect(volunteer.locator(".pick button").first).to_contain_text("on shift")
            survivor.get_by_role("button", name="Call the line").click()
            survivor.locator(".keys").get_by_role("button", name="1", exact=True).click()
            sync_api.expect(survivor.locator(".log")).to_contain_text("waiting in queue")
            phones.work()  # the line rings Alex: the banner shows on the volunteer's phone
            banner = volunteer.locator(".incoming")
            sync_api.expect(banner).to_contain_text("Incoming call from")
            survivor.get_by_role("button", name="Hang up").click()
            sync_api.expect(survivor.locator(".log")).to_contain_text("You hung up")
            phones.work()  # the line stops the ring: the banner goes
            sync_api.expect(banner).to_be_hidden()

            # A tab closed mid-call hangs up (pagehide beacon): no ghost caller waits.
            survivor.get_by_role("button", name="Call the line").click()
            survivor.locator(".keys").get_by_role("button", name="1", exact=True).click()
            sync_api.expect(survivor.locator(".log")).to_contain_text("waiting in queue")
            assert calls_in_queue() == 1
            assert errors == []
            page.close(run_before_unload=True)
            deadline = time.monotonic() + 30  # a wait limit, not a timing assertion
            while calls_in_queue() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert calls_in_queue() == 0
        finally:
            chromium.close()


def test_crisis_alerts_are_marked_for_the_peer_and_the_coordinator_phone(app, svc, phones):
    add_volunteer(svc, "Alex", ALEX)
    line = phones.pair(ALEX, SURV)
    phones.text(SURV, "i want to kms")
    phones.work()
    oncall = svc.config["PEERLINE_ONCALL_NUMBER"]
    seen = inbox(app.test_client(), ALEX, oncall)
    assert seen[oncall]["role"] == "oncall"
    [alert] = [i for t in seen[oncall]["threads"] for i in t["items"]]
    with svc.sessions() as session:  # ids are not reset between tests on PostgreSQL
        escalation_id = session.scalar(select(Escalation.id))
    assert alert["kind"] == "crisis" and f"ACK {escalation_id}" in alert["body"]
    kinds = {i["body"].split(" ")[0]: i["kind"] for i in thread(seen[ALEX], line)
             if i["direction"] == "in"}
    assert kinds["CRISIS"] == "crisis" and kinds["i"] == "text"  # the words themselves: plain
