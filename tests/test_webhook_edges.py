"""Rate limits, signatures behind proxies, query strings and trailing slashes."""

from __future__ import annotations

from sqlalchemy import func, select

from peerline.app import create_app
from peerline.models import Message
from peerline.telephony.signature import sign

from .helpers import BASE_URL, LINE, Phones, new_sid
from .test_text_line import SURV


def count(svc):
    with svc.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message))


def test_an_ordinary_burst_is_never_refused(phones, svc):
    for n in range(10):
        response = phones.text(SURV, f"text {n}")
        assert response.status_code == 200
    assert count(svc) == 10


def test_a_flood_is_stored_quietly_and_crisis_still_answered(phones, svc, settings):
    for n in range(35):
        assert phones.text(SURV, f"flood {n}").status_code == 200
    # ("flood again" would be a classifier false alarm: a lone "again" reads as relapse)
    assert phones.replies(phones.text(SURV, "flood more")) == []
    crisis = phones.replies(phones.text(SURV, "i want to kill myself"))
    assert any("988" in r for r in crisis)
    assert count(svc) == 37
    # Someone else is not starved by the flood.
    assert phones.replies(phones.text("+15550199055", "hello"))


def test_rate_limit_lets_texts_through_when_redis_is_down(settings, clock):
    app = create_app({**settings, "REDIS_URL": "redis://127.0.0.1:1/0"}, clock=clock)
    _wipe_db_only(app)
    with app.app_context():
        phones = Phones(app, app.test_client())
        for n in range(3):
            assert phones.text(SURV, f"hi {n}").status_code == 200
        assert count(phones.svc) == 3
    app.extensions["peerline"].engine.dispose()


def _wipe_db_only(app):
    from peerline.models import Base

    with app.extensions["peerline"].engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def _params():
    return {"MessageSid": new_sid(), "From": SURV, "To": LINE, "Body": "hi"}


def test_query_strings_are_part_of_the_signed_url(phones):
    params = _params()
    assert phones.post("/sms/inbound", params, query="src=twilio&x=1").status_code == 200
    signature = sign("https://peerline.example.org/sms/inbound", params,
                     phones.app.config["SIGNING_TOKEN"])
    response = phones.client.post("/sms/inbound?src=twilio", data=params,
                                  headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_trailing_slash_is_accepted(phones):
    params = _params()
    url = "https://peerline.example.org/sms/inbound/"
    signature = sign(url, params, phones.app.config["SIGNING_TOKEN"])
    response = phones.client.post("/sms/inbound/", data=params,
                                  headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200


def test_behind_a_proxy_without_public_base_url(settings, clock):
    app = create_app({**settings, "PUBLIC_BASE_URL": "", "PEERLINE_PROXY_HOPS": 1},
                     clock=clock)
    _wipe_db_only(app)
    with app.app_context():
        client = app.test_client()
        params = _params()
        url = "https://line.example.org/sms/inbound"
        signature = sign(url, params, app.config["SIGNING_TOKEN"])
        headers = {"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https",
                   "X-Forwarded-Host": "line.example.org"}
        assert client.post("/sms/inbound", data=params, headers=headers).status_code == 200
        forged = dict(headers, **{"X-Forwarded-Host": "evil.example.org"})
        params["MessageSid"] = new_sid()
        assert client.post("/sms/inbound", data=params, headers=forged).status_code == 403
    app.extensions["peerline"].engine.dispose()


def test_twilio_documented_signature_vector():
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
    assert sign("https://mycompany.com/myapp.php?foo=1&bar=2", params,
                "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_every_twilio_route_refuses_forged_signatures_behind_a_proxy(settings, clock):
    """Production config behind one trusted proxy: no route takes an unsigned request, a
    signature for another host (sent with matching X-Forwarded-Host/Proto), or a signed
    request whose parameters were changed."""
    app = create_app({**settings, "PEERLINE_GATEWAY": "twilio", "PEERLINE_PROXY_HOPS": 1},
                     clock=clock)
    try:
        client, token = app.test_client(), settings["TWILIO_AUTH_TOKEN"]
        routes = sorted({r.rule for r in app.url_map.iter_rules() if "POST" in r.methods
                         and r.rule.startswith(("/sms", "/voice"))})
        assert len(routes) > 20
        evil = {"Host": "evil.example.com", "X-Forwarded-Host": "evil.example.com",
                "X-Forwarded-Proto": "https"}
        for rule in routes:
            path = rule + "?call=1&ring=1&vm=1&meeting=1"
            params = {"CallSid": new_sid("CA"), "MessageSid": new_sid(), "From": SURV,
                      "To": LINE, "Body": "hi", "NumMedia": "0", "CallStatus": "completed",
                      "MessageStatus": "failed", "StatusCallbackEvent": "participant-join"}
            forged = [({}, params),
                      ({**evil, "X-Twilio-Signature": sign(
                          "https://evil.example.com" + path, params, token)}, params),
                      ({"X-Twilio-Signature": sign(BASE_URL + path, params, token)},
                       {**params, "From": "+15550199002"})]
            for headers, data in forged:
                answer = client.post(path, data=data, headers=headers)
                assert answer.status_code == 403, (rule, headers, answer.status_code)
    finally:
        app.extensions["peerline"].engine.dispose()
