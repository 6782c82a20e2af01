"""``GET /healthz``: 200 when the database and Redis answer."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from . import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Check the database and Redis."""
    svc = services()
    result = {"database": "ok", "redis": "ok"}
    try:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        result["database"] = "unavailable"
    try:
        svc.redis().ping()
    except Exception:  # noqa: BLE001
        result["redis"] = "unavailable"
    ok = all(v == "ok" for v in result.values())
    return jsonify(result), 200 if ok else 503
