"""Signed but malformed webhooks: a clear 4xx or a friendly reply, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from peerline.models import Message

from .helpers import LINE, new_sid
from .test_text_line import ALEX, SURV, add_volunteer


@pytest.mark.parametrize("from_", ["", "garbage", "+1", "Anonymous", "1" * 40])
def test_bad_from_is_a_400(phones, from_):
    response = phones.text(from_, "hi")
    assert response.status_code == 400
    assert b"From" in response.data


def test_missing_fields(phones):
    assert phones.post("/sms/inbound", {"Body": "hi"}).status_code == 400
    assert phones.post("/sms/inbound", {"MessageSid": new_sid(), "From": SURV,
                                        "Body": "hi"}).status_code == 400
    assert phones.post("/sms/status", {"MessageSid": "SM1"}).status_code == 400


def test_empty_body_gets_a_friendly_reply(phones):
    replies = phones.replies(phones.text(SURV, ""))
    assert any("empty message" in r for r in replies)


def test_very_long_body_is_kept_and_relayed_in_part(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.text(ALEX, "ON")
    phones.text(SURV, "hi")
    phones.work()
    phones.text(ALEX, "YES", to=phones.received(ALEX)[-1][0])
    replies = phones.replies(phones.text(SURV, "word " * 500))
    assert any("very long" in r for r in replies)
    phones.work()
    assert len(phones.bodies(ALEX)[-1]) <= 1600


def test_non_utf8_and_control_characters(phones, svc):
    from urllib.parse import urlencode

    from peerline.telephony.signature import sign

    from .helpers import BASE_URL

    params = {"MessageSid": new_sid(), "From": SURV, "To": LINE, "Body": "caf%E9 ok"}
    raw = urlencode({**params, "Body": "CAFE"}).replace("CAFE", "caf%E9+ok")
    signature = sign(BASE_URL + "/sms/inbound", params, phones.app.config["SIGNING_TOKEN"])
    response = phones.client.post("/sms/inbound", data=raw.encode(),
                                  content_type="application/x-www-form-urlencoded",
                                  headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert phones.text(SURV, "nul \x00 byte").status_code == 200
    body = "ma\u00f1ana \U0001f49c"
    assert phones.text(SURV, body).status_code == 200
    with svc.sessions() as session:
        assert body in session.scalars(select(Message.body)).all()


def test_mms_is_not_relayed_and_sender_is_told(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV)
    replies = phones.replies(phones.text(SURV, "look", NumMedia="1",
                                         MediaUrl0="https://example.org/x.jpg",
                                         MediaContentType0="image/jpeg"))
    assert any("only text" in r for r in replies)
    phones.work()
    assert phones.bodies(ALEX)[-1] == "look"
    assert not any("example.org" in b for b in phones.bodies(ALEX))
    replies = phones.replies(phones.text(ALEX, "", to=number, NumMedia="1",
                                         MediaUrl0="https://example.org/y.jpg"))
    assert any("Media" in r for r in replies)


def test_unknown_to_is_still_answered(phones):
    response = phones.text(SURV, "hi", to="+15557770000")
    assert response.status_code == 200
    assert phones.text(SURV, "hi", to="nonsense").status_code == 400


def test_num_media_that_is_not_a_count_is_a_clear_400(phones):
    response = phones.text(SURV, "hi", NumMedia="lots")
    assert response.status_code == 400 and b"NumMedia" in response.data
    assert phones.text(SURV, "hi", NumMedia="").status_code == 200  # absent: no media


def test_a_stored_message_survives_a_bad_redelivery(phones, svc):
    sid = new_sid()
    assert phones.text(SURV, "first", sid=sid).status_code == 200
    assert phones.text("garbage", "first", sid=sid).status_code == 400
    with svc.sessions() as session:
        assert session.scalar(select(Message.body).where(Message.sid == sid)) == "first"
