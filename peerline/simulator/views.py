"""The phone simulator: ``GET /simulator`` and its small JSON API.

Thin views: check the input, call :mod:`.webhook` (send) or :mod:`.timeline` (read),
answer JSON. Served only on the local gateway; with Twilio every URL here is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from peerline.extensions import services
from peerline.people.phones import InvalidNumber, normalise

from . import timeline, webhook

bp = Blueprint("simulator", __name__, url_prefix="/simulator",
               template_folder="templates", static_folder="static",
               static_url_path="/static")

#: Survivor phones listed on the page (fake +1 555 numbers); any other can be typed in.
SURVIVOR_PHONES = ("+15550199001", "+15550199002", "+15550199003")
MAX_BODY = 1600
MAX_PHONES = 12


class BadRequest(ValueError):
    """Input the simulator API cannot use; answered 400 with this reason."""


@bp.before_request
def local_gateway_only() -> Response | tuple[Response, int] | None:
    """404 unless the line runs on the local gateway (never expose numbers in production)."""
    if current_app.config.get("PEERLINE_GATEWAY") == "local":
        return None
    if request.path.startswith("/simulator/api/"):
        return jsonify(error="not found"), 404
    abort(404)


@bp.errorhandler(BadRequest)
def bad_request(exc: BadRequest) -> tuple[Response, int]:
    """A clear 400 for bad API input."""
    return jsonify(error=str(exc)), 400


@bp.after_request
def no_store(response: Response) -> Response:
    """The simulator's answers hold numbers and texts: never cache them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _json_object() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        raise BadRequest("send a JSON object (Content-Type: application/json)")
    return data


def _phone(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a phone number")
    try:
        return normalise(value)
    except InvalidNumber:
        raise BadRequest(f"{name} is not a possible phone number") from None


def _state() -> dict[str, Any]:
    svc = services()
    return {"lines": svc.line.numbers, "volunteers": timeline.roster(svc),
            "oncall": svc.config.get("PEERLINE_ONCALL_NUMBER") or ""}


@bp.get("")
@bp.get("/")
def page() -> str:
    """The simulator page: phones on the left, their messages apps side by side."""
    state = _state()
    state["survivors"] = list(SURVIVOR_PHONES)
    return render_template("simulator/index.html", state=state)


@bp.get("/api/phones")
def phones() -> Response:
    """Line numbers, the roster (with numbers) and the suggested survivor phones."""
    return jsonify({**_state(), "survivors": list(SURVIVOR_PHONES)})


@bp.post("/api/inbox")
def inbox() -> Response:
    """Threads of the phones asked for (``{"phones": [...]}``), plus the roster."""
    data = _json_object()
    wanted = data.get("phones")
    if not isinstance(wanted, list) or len(wanted) > MAX_PHONES:
        raise BadRequest(f"phones must be a list of at most {MAX_PHONES} numbers")
    numbers = list(dict.fromkeys(_phone(value, "each phone") for value in wanted))
    svc = services()
    state = _state()
    by_number = {v["number"]: v for v in state["volunteers"]}
    state["phones"] = [timeline.phone_view(svc, n, by_number) for n in numbers]
    return jsonify(state)


@bp.post("/api/send")
def send() -> tuple[Response, int]:
    """Text the line: ``{"from", "to", "body", "media": false}`` through the real webhook."""
    data = _json_object()
    svc = services()
    sender = _phone(data.get("from"), "from")
    to = _phone(data.get("to"), "to")
    if to not in svc.line.numbers:
        raise BadRequest("to must be one of the line's numbers: " + ", ".join(svc.line.numbers))
    if sender in svc.line.numbers:
        raise BadRequest("from must be a phone, not one of the line's numbers")
    body = data.get("body", "")
    media = data.get("media", False)
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise BadRequest(f"body must be text of at most {MAX_BODY} characters")
    if not isinstance(media, bool):
        raise BadRequest("media must be true or false")
    if not body.strip() and not media:
        raise BadRequest("body is empty (write something, or send an MMS)")
    result = webhook.send_text(current_app._get_current_object(),  # type: ignore[attr-defined]
                               svc, sender, to, body, media)
    if result.status != 200:
        return jsonify(error=f"the webhook answered {result.status}", detail=result.detail,
                       webhook_status=result.status, sid=result.sid), 502
    return jsonify(ok=True, sid=result.sid, replies=result.replies,
                   recorded=result.recorded), 200
