"""The real ``twilio`` client against a local fake Twilio: sends, time-outs, errors, lookups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from peerline.line import utcnow
from peerline.models import OutboundMessage
from peerline.telephony.gateway import GatewayError, already_sent
from peerline.telephony.twilio_gateway import TwilioGateway

from .helpers import LINE

TO = "+15550177001"
TO2 = "+15550177002"
ALEX = "+15550100001"
SURV = "+15550199001"


def gateway_for(fake, timeout=2.0, token=None):
    return TwilioGateway(fake.account_sid, token or fake.auth_token, fake.url, timeout)


def test_send_reaches_the_fake_with_auth_and_callback(fake):
    gw = gateway_for(fake)
    sid = gw.send_sms(TO, LINE, "hello there", status_callback="https://x.example/sms/status")
    assert sid.startswith("SM") and len(sid) == 34
    [sent] = fake.delivered(TO)
    assert (sent.sid, sent.from_, sent.body) == (sid, LINE, "hello there")
    assert sent.status_callback == "https://x.example/sms/status"


def test_the_gateway_keeps_a_connection_open_for_each_send_thread(fake):
    """The twilio client pools cpu_count + 4 https connections (6 on two cores): a
    broadcast sent on more threads opened new TLS connections to Twilio and dropped them."""
    from peerline.delivery import send_together

    session = gateway_for(fake)._http.session
    for url in ("https://api.twilio.com/2010-04-01", fake.url):
        assert session.get_adapter(url)._pool_maxsize >= send_together.THREADS


def test_wrong_credentials_are_refused_and_not_permanent(fake):
    with pytest.raises(GatewayError) as caught:
        gateway_for(fake, token="wrong").send_sms(TO, LINE, "hi")
    assert caught.value.status == 401 and not caught.value.permanent
    assert fake.delivered() == []


def test_a_hang_past_the_timeout_is_a_transient_error(fake):
    fake.configure(fault_rate=1.0, faults=("hang",), hang_s=1.5)
    with pytest.raises(GatewayError) as caught:
        gateway_for(fake, timeout=0.3).send_sms(TO, LINE, "hi")
    assert not caught.value.permanent and caught.value.status is None
    assert fake.delivered() == []


def test_429_carries_retry_after(fake):
    fake.configure(fault_rate=1.0, faults=("429",), retry_after="7")
    with pytest.raises(GatewayError) as caught:
        gateway_for(fake).send_sms(TO, LINE, "hi")
    error = caught.value
    assert (error.status, error.code, error.retry_after, error.permanent) == (429, 20429, 7.0,
                                                                            False)


def test_500_is_transient(fake):
    fake.configure(fault_rate=1.0, faults=("500",))
    with pytest.raises(GatewayError) as caught:
        gateway_for(fake).send_sms(TO, LINE, "hi")
    assert caught.value.status == 500 and not caught.value.permanent


@pytest.mark.parametrize("code", [21610, 21211, 21606])
def test_permanent_errors_are_permanent(fake, code):
    fake.configure(permanent={TO: code})
    with pytest.raises(GatewayError) as caught:
        gateway_for(fake).send_sms(TO, LINE, "hi")
    assert caught.value.code == code and caught.value.permanent
    assert caught.value.retry_after is None


@pytest.mark.parametrize("fault", ["accept_500", "accept_drop", "accept_hang"])
def test_accepted_but_unheard_is_found_by_already_sent(fake, fault):
    since = utcnow()
    fake.configure(fault_rate=1.0, faults=(fault,), hang_s=1.5)
    gw = gateway_for(fake, timeout=0.5)
    with pytest.raises(GatewayError) as caught:
        gw.send_sms(TO, LINE, "did you get this?")
    assert not caught.value.permanent
    fake.configure(fault_rate=0.0)
    [accepted] = fake.delivered(TO)
    assert already_sent(gw, TO, LINE, "did you get this?", since, ()) == accepted.sid
    assert already_sent(gw, TO, LINE, "something else", since, ()) is None
    assert already_sent(gw, TO2, LINE, "did you get this?", since, ()) is None


def test_find_sent_sees_messages_twilio_has_not_sent_yet(fake):
    # Queued at Twilio: no date_sent yet, so a DateSent filter would miss it.
    fake.configure(sent_after_s=3600)
    gw = gateway_for(fake)
    sid = gw.send_sms(TO, LINE, "queued at twilio")
    since = utcnow() - timedelta(seconds=5)
    assert already_sent(gw, TO, LINE, "queued at twilio", since, ()) == sid


def test_find_sent_pages_and_skips_copies_other_rows_own(fake):
    gw = gateway_for(fake)
    since = utcnow()
    first = gw.send_sms(TO, LINE, "ok")
    for i in range(120):  # more than two pages of 50
        gw.send_sms(TO, LINE, f"filler {i}")
    second = gw.send_sms(TO, LINE, "ok")
    assert gw.find_sent_all(TO, LINE, "ok", since) == [second, first]
    assert already_sent(gw, TO, LINE, "ok", since, ()) == first
    assert already_sent(gw, TO, LINE, "ok", since, {first}) == second
    assert already_sent(gw, TO, LINE, "ok", since, {first, second}) is None
    assert already_sent(gw, TO, LINE, "filler 3", since, ()) is not None  # on the third page


def test_already_sent_errors_are_gateway_errors(fake):
    gw = gateway_for(fake)
    fake.configure(fault_rate=1.0, faults=("429",), fault_lists=True)
    with pytest.raises(GatewayError) as caught:
        already_sent(gw, TO, LINE, "x", utcnow(), ())
    assert caught.value.status == 429 and caught.value.retry_after == 1.0
    assert not caught.value.permanent


def test_calls_are_placed_and_updated(fake):
    gw = gateway_for(fake)
    sid = gw.create_call(TO, LINE, "https://x.example/voice/answer",
                         status_callback="https://x.example/voice/status")
    assert sid.startswith("CA")
    gw.update_call(sid, status="completed")
    assert fake.calls[0]["to"] == TO and fake.calls[0]["status"] == "completed"


# --- end to end through the app, PEERLINE_GATEWAY=twilio -------------------------------

@pytest.fixture
def settings(settings, fake):
    settings.update({
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_API_BASE_URL": fake.url,
        "PEERLINE_GATEWAY": "twilio",
        "TWILIO_TIMEOUT_S": 0.4,
    })
    return settings


def add_volunteer(svc, name, phone):
    from peerline.people import roster

    with svc.sessions.begin() as session:
        return roster.add_volunteer(session, svc.line, name, phone, "en", None).id


def test_the_line_runs_on_the_twilio_gateway_through_faults(phones, svc, fake):
    assert isinstance(svc.line.gateway, TwilioGateway)
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.text(SURV, "hi, anyone there?")
    phones.work(rounds=60)
    [offer] = fake.delivered(ALEX)
    assert "YES" in offer.body and offer.from_ in svc.line.numbers
    phones.text(ALEX, "yes", to=offer.from_)
    phones.work(rounds=60)

    # Now every kind of fault, time-outs included (the client waits 0.4 s; hangs 0.8 s).
    fake.configure(fault_rate=0.5, hang_s=0.8, fault_lists=True,
                   faults=("429", "500", "hang", "accept_500", "accept_drop", "accept_hang"))
    said = [f"message {i}" for i in range(8)]
    for body in said:
        assert phones.text(SURV, body).status_code == 200
    phones.work(rounds=200)
    relayed = [b for b in fake.bodies(ALEX) if b.startswith("message ")]
    assert relayed == said  # each once, in order
    seen = fake.faults_seen()
    assert any(seen.get(f) for f in ("accept_500", "accept_drop", "accept_hang")), seen
    with svc.sessions() as session:
        statuses = set(session.scalars(select(OutboundMessage.status)))
    assert statuses == {"sent"}


def test_a_gateway_without_a_message_list_still_sends():
    """An API without the message list (404) must not leave a text unsent forever."""
    from datetime import datetime

    class NoList:
        def __init__(self, status):
            self.status = status

        def find_sent_all(self, *args):
            raise GatewayError("no list", status=self.status)

    assert already_sent(NoList(404), "+15550199001", "+15550000001", "hi",
                        datetime(2026, 1, 1), set()) is None
    with pytest.raises(GatewayError):
        already_sent(NoList(500), "+15550199001", "+15550000001", "hi",
                     datetime(2026, 1, 1), set())


def test_call_status_is_read_by_rest_404_and_500_are_errors(fake):
    """``call_status`` fetches ``Calls/<sid>``: its status; an unknown call is a 404
    error (the takeover counts it as over), a 500 a transient one (retried)."""
    gateway = gateway_for(fake)
    sid = "CA" + "7" * 32
    fake.calls.append({"sid": sid, "to": LINE, "from": "+15550100999", "url": "",
                       "status": "in-progress", "status_callback": ""})
    assert gateway.call_status(sid) == "in-progress"
    with pytest.raises(GatewayError) as unknown:
        gateway.call_status("CA" + "8" * 32)
    assert unknown.value.status == 404
    fake.call_fetch_faults = 1
    with pytest.raises(GatewayError) as failed:
        gateway.call_status(sid)
    assert failed.value.status == 500 and not failed.value.permanent
    assert gateway.call_status(sid) == "in-progress"
