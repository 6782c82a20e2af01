"""The call simulator (``/simulator/call``): try the whole IVR from a browser.

The page plays a phone: its server side posts *signed* webhooks to the real ``/voice/*``
routes through ``current_app.test_client()``, and turns the TwiML answers into readable
steps (what is said, the options). Calls the line places (rings to volunteers, warm
transfers, callbacks) are read back from the local gateway's record, so a volunteer's
phone can "answer" them. Only with the local gateway: never on a real deployment.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlalchemy import select

from .. import services
from ..models import LocalMessage, Volunteer
from ..phones import InvalidNumber, normalise
from ..telephony.params import db_int_or_none
from ..telephony.signature import sign

bp = Blueprint("call_simulator", __name__, url_prefix="/simulator/call",
               template_folder="templates")


@bp.before_request
def _local_only() -> None:
    if current_app.config.get("PEERLINE_GATEWAY") != "local":
        abort(404)


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
    status, body = post_webhook(path, clean)
    steps = describe(body) if body.lstrip().startswith("<") else []
    return jsonify(status=status, path=path, steps=steps, raw=body[:5000])


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
