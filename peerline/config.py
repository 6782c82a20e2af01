"""Settings read from the environment, with embedded defaults for local use."""

from __future__ import annotations

import os
from typing import Any

from .phones import InvalidNumber, normalise

#: Used only when nothing else is configured; a warning is logged in that case.
DEV_SECRET_KEY = "peerline-dev-secret-not-for-production"
#: Signs the simulator's webhooks when no Twilio auth token is configured.
DEV_AUTH_TOKEN = "peerline-dev-auth-token"
#: The embedded default line number (a +1 555 test-range number).
DEV_NUMBERS = "+15550000001,+15550000002,+15550000003"

HOTLINE_DEFAULTS = {
    "PEERLINE_HOTLINE_VOICE": "+18002738255",
    "PEERLINE_HOTLINE_TEXT_EN": (
        "If you are in danger or thinking about suicide, you can call or text 988 "
        "(Suicide & Crisis Lifeline) any time, day or night. If you are in immediate "
        "danger, call 911."
    ),
    "PEERLINE_HOTLINE_TEXT_ES": (
        "Si estás en peligro o piensas en el suicidio, llama al 988 y marca 2, o envía "
        "AYUDA por texto al 988, a cualquier hora. Si corres peligro inmediato, llama al 911."
    ),
    "PEERLINE_DV_TEXT_EN": (
        "If someone is hurting you, the National Domestic Violence Hotline is there 24/7: "
        "call 1-800-799-7233 or text START to 88788. In immediate danger, call 911."
    ),
    "PEERLINE_DV_TEXT_ES": (
        "Si alguien te está haciendo daño, la Línea Nacional contra la Violencia Doméstica "
        "atiende 24/7: llama al 1-800-799-7233 o envía START al 88788. En peligro "
        "inmediato, llama al 911."
    ),
}

# name -> (default, type)
_SETTINGS: dict[str, tuple[Any, type]] = {
    "DATABASE_URL": ("", str),
    "REDIS_URL": ("", str),
    "SECRET_KEY": ("", str),
    "TWILIO_ACCOUNT_SID": ("", str),
    "TWILIO_AUTH_TOKEN": ("", str),
    "TWILIO_API_BASE_URL": ("", str),
    "TWILIO_TIMEOUT_S": (10.0, float),
    "PUBLIC_BASE_URL": ("", str),
    "PEERLINE_GATEWAY": ("", str),
    "PEERLINE_NUMBERS": ("", str),
    "PEERLINE_ENCRYPTION_KEYS": ("", str),
    "PEERLINE_HASH_KEY": ("", str),
    "PEERLINE_ONCALL_NUMBER": ("", str),
    "PEERLINE_OFFER_TIMEOUT_S": (60, int),
    "PEERLINE_IDLE_CLOSE_S": (3600, int),
    "PEERLINE_VOLUNTEER_NUDGE_S": (600, int),
    "PEERLINE_VOLUNTEER_REQUEUE_S": (900, int),
    "PEERLINE_WAIT_NOTICE_S": (300, int),
    "PEERLINE_ONCALL_ALERT_GAP_S": (600, int),
    "PEERLINE_HOTLINE_REPEAT_S": (3600, int),
    "PEERLINE_DEFAULT_CAPACITY": (2, int),
    "PEERLINE_HOURS": ("Volunteers are usually on shift every day, 9am to 11pm.", str),
    "PEERLINE_HOURS_ES": ("Normalmente hay voluntarios todos los días, de 9 a 23 h.", str),
    "PEERLINE_SWEEP_INTERVAL_S": (5.0, float),
    "PEERLINE_LEASE_S": (30, int),
    "PEERLINE_RETENTION_DAYS": (30, int),
    "PEERLINE_SPOOL_TTL_S": (3 * 86400, int),
    "PEERLINE_VOICE_MAX_WAIT_S": (180, int),
    "PEERLINE_RATE_LIMIT_PER_MIN": (30, int),
    "PEERLINE_QUICK_EXIT_WORD": ("#ERASE", str),
    "PEERLINE_LEXICON_DIR": ("", str),
    "PEERLINE_INSTANCE_DIR": ("", str),
    "PEERLINE_PROXY_HOPS": (0, int),
    **{k: (v, str) for k, v in HOTLINE_DEFAULTS.items()},
}


def _cast(value: str, kind: type) -> Any:
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    return value


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return every setting, taken from ``environ`` where present, else its default."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (default, kind) in _SETTINGS.items():
        raw = env.get(name)
        values[name] = _cast(raw, kind) if raw not in (None, "") else default
    return values


def finalise(values: dict[str, Any]) -> dict[str, Any]:
    """Fill derived settings: gateway choice, dev defaults, the line numbers list."""
    if not values.get("PEERLINE_GATEWAY"):
        has_twilio = values.get("TWILIO_ACCOUNT_SID") and values.get("TWILIO_AUTH_TOKEN")
        values["PEERLINE_GATEWAY"] = "twilio" if has_twilio else "local"
    values["USING_DEV_SECRET"] = not values.get("SECRET_KEY")
    if not values.get("SECRET_KEY"):
        values["SECRET_KEY"] = DEV_SECRET_KEY
    # Signatures are always checked: without a real token, the dev token signs.
    values["SIGNING_TOKEN"] = values.get("TWILIO_AUTH_TOKEN") or DEV_AUTH_TOKEN
    values["USING_DEV_NUMBERS"] = not values.get("PEERLINE_NUMBERS")
    numbers = values.get("PEERLINE_NUMBERS") or DEV_NUMBERS
    if isinstance(numbers, str):
        numbers = [n.strip() for n in numbers.split(",") if n.strip()]
    values["PEERLINE_NUMBERS"] = list(numbers)
    # Normalised once here: alerts are sent to it and every inbound text is compared.
    oncall = values.get("PEERLINE_ONCALL_NUMBER") or ""
    try:
        values["PEERLINE_ONCALL_NUMBER"] = normalise(oncall) if oncall else ""
    except InvalidNumber:
        raise ValueError("PEERLINE_ONCALL_NUMBER is not a phone number") from None
    return values
