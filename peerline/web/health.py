"""``GET /healthz``: 200 when the database and Redis answer.

While Twilio refuses the line's credentials, the answer says so under ``"twilio"``
(texts are held). It stays 200: webhooks still work, and a 503 would make a load
balancer drop the web processes and lose inbound texts.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from peerline.delivery import gateway_hold
from peerline.extensions import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Check the database and Redis; say whether texts are held by a Twilio refusal."""
    svc = services()
    result: dict[str, Any] = {"database": "ok", "redis": "ok"}
    try:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        result["database"] = "unavailable"
    try:
        svc.redis().ping()
    except Exception:  # noqa: BLE001
        result["redis"] = "unavailable"
    if result["database"] == "ok":
        try:
            with svc.sessions() as session:
                hold = gateway_hold.status(session)
        except SQLAlchemyError:  # e.g. a schema not migrated yet: not this check's business
            hold = None
        if hold is not None:
            result["twilio"] = hold
    ok = result["database"] == "ok" and result["redis"] == "ok"
    return jsonify(result), 200 if ok else 503
