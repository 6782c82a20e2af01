"""Texting the line as a phone would: the exact params Twilio posts, signed, dispatched.

:func:`send_text` runs the real ``POST /sms/inbound`` (signature check, store, scan,
reply) through the app's test client, parses the TwiML ``<Message>`` replies and keeps
them in Redis, since an immediate reply never passes through the gateway.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select

from ..extensions import Services
from ..models import LocalMessage
from ..telephony.signature import sign

log = logging.getLogger(__name__)

ACCOUNT_SID = "AC" + "5" * 32  # a fake account: the simulator's own
API_VERSION = "2010-04-01"
INBOUND_PATH = "/sms/inbound"
#: How many TwiML replies are kept per phone (oldest dropped first).
REPLIES_KEPT = 500
FAKE_MEDIA_URL = ("https://api.twilio.com/2010-04-01/Accounts/{account}/Messages/{sid}/"
                  "Media/ME{media}")

# The GSM 03.38 basic set (plus the extension table, which costs two septets).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass
class SendResult:
    """What the webhook answered to one simulated text."""

    sid: str
    status: int
    replies: list[str] = field(default_factory=list)
    detail: str = ""
    recorded: bool = True


def replies_key(phone_hash: str) -> str:
    """The Redis list holding a phone's TwiML replies (keyed by hash, never the number)."""
    return f"peerline:simulator:replies:{phone_hash}"


def num_segments(body: str) -> int:
    """How many SMS segments ``body`` takes (GSM-7 160/153, else UCS-2 70/67)."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in body):
        septets = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def twilio_params(from_: str, to: str, body: str, media: bool = False) -> dict[str, str]:
    """The form parameters Twilio POSTs for an inbound text (or MMS when ``media``)."""
    sid = ("MM" if media else "SM") + secrets.token_hex(16)
    params = {
        "ToCountry": "US", "ToState": "", "ToCity": "", "ToZip": "",
        "FromCountry": "US", "FromState": "", "FromCity": "", "FromZip": "",
        "SmsMessageSid": sid, "SmsSid": sid, "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": from_, "To": to, "Body": body,
        "NumMedia": "1" if media else "0",
        "NumSegments": str(num_segments(body)),
        "SmsStatus": "received", "ApiVersion": API_VERSION,
    }
    if media:
        params["MediaContentType0"] = "image/jpeg"
        params["MediaUrl0"] = FAKE_MEDIA_URL.format(account=ACCOUNT_SID, sid=sid,
                                                    media=secrets.token_hex(16))
    return params


def parse_twiml(xml_text: bytes | str) -> list[str]:
    """The texts of every ``<Message>`` in a TwiML ``<Response>`` (the app's own output)."""
    if not xml_text or not str(xml_text).strip():
        return []
    root = ET.fromstring(xml_text)  # TwiML our own app just produced
    texts = []
    for message in root.iter("Message"):
        body = message.find("Body")
        texts.append((body.text if body is not None else message.text) or "")
    return texts


def _watermark(svc: Services) -> int:
    """The newest ``local_messages`` id: gateway texts above it came after this send."""
    with svc.sessions() as session:
        return int(session.scalar(select(func.max(LocalMessage.id))) or 0)


def record_replies(redis: Redis, phone_hash: str, entry: dict[str, object],
                   keep_days: int) -> None:
    """Append one exchange's TwiML replies to the phone's capped Redis list."""
    key = replies_key(phone_hash)
    pipe = redis.pipeline()
    pipe.rpush(key, json.dumps(entry))
    pipe.ltrim(key, -REPLIES_KEPT, -1)
    pipe.expire(key, max(keep_days, 1) * 86400)
    pipe.execute()


def load_replies(redis: Redis, phone_hash: str) -> dict[str, dict[str, object]]:
    """The recorded exchanges of a phone, by the MessageSid they answered."""
    entries: dict[str, dict[str, object]] = {}
    for raw in redis.lrange(replies_key(phone_hash), 0, -1):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("sid"), str):
            entries[entry["sid"]] = entry
    return entries


def send_text(app: Flask, svc: Services, from_: str, to: str, body: str,
              media: bool = False) -> SendResult:
    """Text the line from ``from_`` to line number ``to`` through the real webhook."""
    params = twilio_params(from_, to, body, media)
    base = (app.config.get("PUBLIC_BASE_URL") or "").rstrip("/") or "http://localhost"
    signature = sign(base + INBOUND_PATH, params, app.config["SIGNING_TOKEN"])
    mark = _watermark(svc)
    sent_at: datetime = svc.line.now()
    response = app.test_client().post(
        INBOUND_PATH, data=params, base_url="http://localhost",
        headers={"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"})
    result = SendResult(sid=params["MessageSid"], status=response.status_code)
    if response.status_code != 200:
        result.detail = response.get_data(as_text=True)[:300]
        return result
    try:
        result.replies = parse_twiml(response.get_data())
    except ET.ParseError:
        result.status, result.detail = 502, "the webhook answered with malformed TwiML"
        return result
    entry = {"sid": result.sid, "line": to, "texts": result.replies, "mark": mark,
             "at": sent_at.isoformat()}
    try:
        record_replies(svc.redis(), svc.line.vault.hash(from_), entry,
                       int(app.config.get("PEERLINE_RETENTION_DAYS") or 30))
    except RedisError as exc:
        result.recorded = False
        log.warning("simulator could not keep a TwiML reply in Redis (%s)", type(exc).__name__)
    return result
