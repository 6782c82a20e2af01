"""The call simulator (``/simulator/call``): try the whole IVR from a browser.

The page plays a phone: its server side posts *signed* webhooks to the real ``/voice/*``
routes through ``current_app.test_client()``, and turns the TwiML answers into readable
steps (what is said, the options). Calls the line places (rings to volunteers, warm
transfers, callbacks) are read back from the local gateway's record, so a volunteer's
phone can "answer" them. A call the page leaves behind (a closed tab) is hung up as
Twilio would: by the page's ``pagehide`` beacon, else once idle (see :mod:`.live_calls`).
Only with the local gateway: never on a real deployment.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from redis.exceptions import RedisError
from sqlalchemy import select

from peerline.extensions import services
from peerline.people.phones import InvalidNumber, normalise

from ..models import LocalMessage, Volunteer
from ..telephony.params import db_int_or_none
from ..telephony.signature import sign
from . import live_calls

log = logging.getLogger(__name__)

bp = Blueprint("call_simulator", __name__, url_prefix="/simulator/call",
               template_folder="templates")
ACCOUNT_SID = "AC" + "0" * 32  # the simulator's fake account (as the page sends it)


@bp.before_request
def _local_only() -> None:
    if current_app.config.get("PEERLINE_GATEWAY") != "local":
        abort(404)
    hang_up_idle()


def _now() -> float:
    return services().line.now().timestamp()


def hang_up_idle() -> list[str]:
    """Post Twilio's hang-up (``/voice/status`` completed) for every simulator call the
    page stopped driving; the sids hung up. Called before each simulator request."""
    try:
        idle = live_calls.claim_idle(services().redis(), _now())
    except RedisError as exc:
        log.warning("simulator could not check for idle calls (%s)", type(exc).__name__)
        return []
    for sid, direction in idle:
        post_webhook("/voice/status", {"CallSid": sid, "AccountSid": ACCOUNT_SID,
                                       "CallStatus": "completed", "Direction": direction,
                                       "ApiVersion": "2010-04-01"})
        log.info("simulator hung up call %s after %s s idle", sid, live_calls.IDLE_HANGUP_S)
    return [sid for sid, _ in idle]


def _note(path: str, params: dict[str, str]) -> None:
    """Keep :mod:`.live_calls` up to date with what the page just posted."""
    sid = params.get("CallSid", "")
    if not sid:
        return
    try:
        redis = services().redis()
        if path.startswith("/voice/status") and \
                params.get("CallStatus", "").lower() in live_calls.FINAL:
            live_calls.forget(redis, sid)
        else:
            live_calls.touch(redis, sid, params.get("Direction") or "inbound", _now())
    except RedisError as exc:
        log.warning("simulator could not note a live call (%s)", type(exc).__name__)


def _base() -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or "http://localhost").rstrip("/")


def local_path(url: str) -> str | None:
    """A TwiML or REST URL as a ``/voice/...`` path (+ query), or None if not ours."""
    base = _base()
    if url.startswith(base):
        url = url[len(base):]
    return url if url.startswith("/voice/") else None


def _element(node: ET.Element) -> dict[str, Any]:
    step: dict[str, Any] = {"verb": node.tag, "attrs": dict(node.attrib),
                            "text": (node.text or "").strip()}
    if node.tag in ("Gather", "Dial"):
        step["children"] = [_element(child) for child in node]
    return step


def describe(body: str) -> list[dict[str, Any]]:
    """TwiML as a list of steps: verb, attributes, text (and nested verbs)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return [{"verb": "Error", "attrs": {}, "text": body[:300]}]
    return [_element(child) for child in root]


def post_webhook(path: str, params: dict[str, str]) -> tuple[int, str]:
    """POST ``params`` to a ``/voice/*`` path, signed exactly as Twilio signs them."""
    signature = sign(_base() + path, params, current_app.config["SIGNING_TOKEN"])
    client = current_app.test_client()
    response = client.post(path, data=params, headers={"X-Twilio-Signature": signature},
                           base_url=_base())
    return response.status_code, response.get_data(as_text=True)


@bp.get("")
def page() -> str:
    """The simulator page."""
    return render_template("simulator/call.html", lines=services().line.numbers)


@bp.post("/api/webhook")
def webhook() -> Any:
    """Post one signed webhook for the page and describe the answer."""
    payload = request.get_json(silent=True) or {}
    path = local_path(str(payload.get("url", "")))
    params = payload.get("params") or {}
    if path is None or not isinstance(params, dict):
        return jsonify(error="url must be a /voice/ URL and params an object"), 400
    clean = {str(k)[:40]: str(v)[:2000] for k, v in params.items() if v is not None}
    _note(path, clean)
    status, body = post_webhook(path, clean)
    steps = describe(body) if body.lstrip().startswith("<") else []
    return jsonify(status=status, path=path, steps=steps, raw=body[:5000])


@bp.post("/api/hangup")
def hangup() -> Any:
    """The page went away mid-call (``navigator.sendBeacon`` on ``pagehide``): post what
    Twilio posts when a caller hangs up: the queue's ``hangup`` result if the call waited
    in one, then the ``completed`` status callback."""
    payload = request.get_json(force=True, silent=True)  # a beacon may say text/plain
    if not isinstance(payload, dict) or not isinstance(payload.get("sid"), str):
        return jsonify(error="send {sid, direction, queue_action, queue_time}"), 400
    sid = payload["sid"][:64]
    base = {"CallSid": sid, "AccountSid": ACCOUNT_SID,
            "Direction": str(payload.get("direction") or "inbound")[:20],
            "ApiVersion": "2010-04-01"}
    action = local_path(str(payload.get("queue_action") or ""))
    if action:
        post_webhook(action, {**base, "CallStatus": "completed", "QueueResult": "hangup",
                              "QueueTime": str(db_int_or_none(str(payload.get("queue_time")))
                                               or 0)})
    _note("/voice/status", {**base, "CallStatus": "completed"})
    status, _ = post_webhook("/voice/status", {**base, "CallStatus": "completed"})
    return jsonify(status=status)


def _number(raw: str) -> str:
    try:
        return normalise(raw)
    except InvalidNumber:
        abort(400, description="not a phone number")


@bp.get("/api/incoming")
def incoming() -> Any:
    """Calls the line placed to a phone (rings, callbacks, hotline legs) since ``after``."""
    svc = services()
    number = _number(request.args.get("number", ""))
    after = request.args.get("after", "0")
    with svc.sessions() as session:
        rows = session.scalars(select(LocalMessage).where(
            LocalMessage.kind == "call", LocalMessage.to_hash == svc.line.vault.hash(number),
            LocalMessage.id > (db_int_or_none(after) or 0))
            .order_by(LocalMessage.id)).all()
        return jsonify(calls=[{"id": r.id, "sid": r.sid, "from": r.from_number,
                               "url": local_path(r.body) or r.body} for r in rows])


@bp.get("/api/updates")
def updates() -> Any:
    """What the line did to a live call by REST (redirect, TwiML, hang-up) since ``after``."""
    svc = services()
    sid = request.args.get("sid", "")[:64]
    after = request.args.get("after", "0")
    try:
        live_calls.still_here(svc.redis(), sid, _now())  # the page still holds this call
    except RedisError as exc:
        log.warning("simulator could not note a live call (%s)", type(exc).__name__)
    with svc.sessions() as session:
        rows = session.scalars(select(LocalMessage).where(
            LocalMessage.kind == "update", LocalMessage.to_hash == sid,
            LocalMessage.id > (db_int_or_none(after) or 0))
            .order_by(LocalMessage.id)).all()
        out = []
        for row in rows:
            body = row.body
            item: dict[str, Any] = {"id": row.id}
            if body.lstrip().startswith("<"):
                item["steps"] = describe(body)
            elif local_path(body):
                item["url"] = local_path(body)
            else:
                item["status"] = body
            out.append(item)
        return jsonify(updates=out)


@bp.get("/api/volunteers")
def volunteers() -> Any:
    """The roster's phones, to call as a volunteer (local simulator only)."""
    svc = services()
    with svc.sessions() as session:
        rows = session.scalars(select(Volunteer).where(Volunteer.active.is_(True))
                               .order_by(Volunteer.name)).all()
        return jsonify(volunteers=[
            {"name": v.name, "phone": svc.line.vault.decrypt(v.phone_enc),
             "on_shift": v.on_shift, "on_call": v.on_call} for v in rows])
