"""Checking ``X-Twilio-Signature`` exactly as Twilio computes it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator


def signed_url() -> str:
    """The URL Twilio signed: ``PUBLIC_BASE_URL`` + path (+ query), else the request URL."""
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if base:
        path = request.full_path if request.query_string else request.path
        return base.rstrip("/") + path
    return request.url


def is_valid_request() -> bool:
    """True when the current request carries a valid Twilio signature."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = RequestValidator(current_app.config["SIGNING_TOKEN"])
    params = request.form if request.method == "POST" else {}
    return validator.validate(signed_url(), params, signature)


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: 403 unless the request is signed by Twilio (or the simulator)."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not is_valid_request():
            abort(403, description="missing or invalid X-Twilio-Signature")
        return view(*args, **kwargs)

    return checked


def sign(url: str, params: dict[str, str], token: str) -> str:
    """The signature Twilio would send for ``params`` POSTed to ``url``."""
    return RequestValidator(token).compute_signature(url, params)
