"""Settings read from the environment, with embedded defaults for local use."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet

from peerline.people.phones import InvalidNumber, normalise

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

#: Peer support (issue 15): lived-experience tags (comma-separated; the Spanish list names
#: the same tags in the same order) and the resources RESOURCES/RECURSOS texts after the
#: crisis hotline ("|" between entries).
PEER_DEFAULTS = {
    "PEERLINE_PEER_TAGS": "childhood abuse,sexual violence,domestic violence,loss,combat",
    "PEERLINE_PEER_TAGS_ES": (
        "abuso en la infancia,violencia sexual,violencia doméstica,pérdida,combate"
    ),
    "PEERLINE_RESOURCES_EN": (
        "Domestic violence: 1-800-799-7233, or text START to 88788"
        "|Sexual assault (RAINN): 1-800-656-4673"
        "|Veterans: call 988 and press 1, or text 838255"
        "|Child abuse (Childhelp): 1-800-422-4453"
        "|Local services near you: call or text 211"
    ),
    "PEERLINE_RESOURCES_ES": (
        "Violencia doméstica: 1-800-799-7233, o envía START al 88788"
        "|Agresión sexual (RAINN): 1-800-656-4673"
        "|Veteranos: llama al 988 y marca 1, o envía un texto al 838255"
        "|Abuso infantil (Childhelp): 1-800-422-4453"
        "|Servicios locales: llama o envía un texto al 211"
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
    "PEERLINE_VOLUNTEER_ALERT_GAP_S": (600, int),
    "PEERLINE_GATEWAY_HOLD_S": (300, int),
    "PEERLINE_HOTLINE_REPEAT_S": (3600, int),
    "PEERLINE_DEFAULT_CAPACITY": (2, int),
    "PEERLINE_HOURS": ("Volunteers are usually on shift every day, 9am to 11pm.", str),
    "PEERLINE_HOURS_ES": ("Normalmente hay voluntarios todos los días, de 9 a 23 h.", str),
    "PEERLINE_SWEEP_INTERVAL_S": (5.0, float),
    "PEERLINE_LEASE_S": (30, int),
    "PEERLINE_HEARTBEAT_S": (2.0, float),
    "PEERLINE_WORKER_DEAD_S": (10.0, float),
    "PEERLINE_RETENTION_DAYS": (30, int),
    "PEERLINE_SPOOL_TTL_S": (3 * 86400, int),
    "PEERLINE_VOICE_MAX_WAIT_S": (180, int),
    "PEERLINE_RATE_LIMIT_PER_MIN": (30, int),
    "PEERLINE_QUICK_EXIT_WORD": ("#ERASE", str),
    "PEERLINE_LEXICON_DIR": ("", str),
    "PEERLINE_CRISIS_MODEL": ("1", str),
    "PEERLINE_INSTANCE_DIR": ("", str),
    "PEERLINE_PROXY_HOPS": (0, int),
    "PEERLINE_PIN_MAX_FAILURES": (5, int),
    "PEERLINE_PIN_FAILURE_WINDOW_S": (86400, int),  # a slow guesser still adds up
    "PEERLINE_PIN_LOCK_S": (1800, int),
    "PEERLINE_LOGIN_MAX_FAILURES": (5, int),  # dashboard sign-in lock-out
    "PEERLINE_LOGIN_LOCK_S": (900, int),
    # Group sessions (peerline.groups), in PEERLINE_TIMEZONE (below).
    "PEERLINE_GROUP_REMINDER_S": (3600, int),
    "PEERLINE_GROUPS_AHEAD_DAYS": (14, int),
    # Wrong session PINs per caller across calls (peerline/groups/pin_lock.py).
    "PEERLINE_GROUP_PIN_MAX_FAILURES": (5, int),
    "PEERLINE_GROUP_PIN_WINDOW_S": (3600, int),
    "PEERLINE_GROUP_PIN_LOCK_S": (3600, int),
    # A seat whose call shows no sign of life this long may be taken over by the same
    # sign-up from the same number (its call-ended callback may have been lost):
    # peerline/groups/calls.py.
    "PEERLINE_GROUP_SEAT_GRACE_S": (120, int),
    "PEERLINE_COOKIE_SECURE": ("", str),  # "" = Secure when PUBLIC_BASE_URL is https
    # The shift schedule (peerline/scheduling): local times are in this zone.
    "PEERLINE_TIMEZONE": ("America/New_York", str),
    "PEERLINE_REMINDER_BEFORE_S": (3 * 3600, int),  # a reminder this long before a shift
    "PEERLINE_CONFIRM_BY_S": (3600, int),  # no OK this long before the start: offered out
    "PEERLINE_WEEKLY_SHIFT_HOURS": (20.0, float),  # TAKE may not go past this a week
    # Wellbeing (0 = no cap): conversations a volunteer takes per shift and per 7 days;
    # the cool-down after a crisis conversation; "several crises" on the dashboard.
    "PEERLINE_CAP_PER_SHIFT": (8, int),
    "PEERLINE_CAP_PER_WEEK": (30, int),
    "PEERLINE_COOLDOWN_S": (900, int),
    "PEERLINE_CRISES_FLAG": (2, int),
    **{k: (v, str) for k, v in HOTLINE_DEFAULTS.items()},
    # Peer support: the extra wait for a tag-matched peer; how long the feedback
    # question stays answerable; how long a VOLUNTEER application waits for an answer.
    "PEERLINE_MATCH_WAIT_S": (120, int),
    "PEERLINE_FEEDBACK_WINDOW_S": (86400, int),
    "PEERLINE_APPLICATION_WINDOW_S": (3600, int),
    **{k: (v, str) for k, v in PEER_DEFAULTS.items()},
}


GATEWAYS = ("twilio", "local")
#: A production ``SECRET_KEY`` shorter than this is refused (encryption keys derive from it).
MIN_SECRET_LENGTH = 16


class ConfigError(ValueError):
    """The settings are unusable: the line refuses to start.

    ``str(error)`` is one line naming every problem; ``problems`` lists them. Entry
    points print that line and exit non-zero (``wsgi.py``, ``gunicorn.conf.py``).
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("peerline will not start: " + "; ".join(self.problems))


def valid_zone(name: str) -> bool:
    """True when ``name`` is an IANA time zone this machine knows (``America/New_York``)."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _cast(value: str, kind: type) -> Any:
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    return value


def names() -> list[str]:
    """Every setting the line reads from the environment, in this module's order."""
    return list(_SETTINGS)


def default(name: str) -> Any:
    """A setting's built-in default (``""`` when it has none)."""
    return _SETTINGS[name][0]


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Every setting as given in ``environ`` (text), else its default; checked by finalise."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (default, _kind) in _SETTINGS.items():
        raw = env.get(name)
        values[name] = raw if raw not in (None, "") else default
    return values


def _typed(values: dict[str, Any], problems: list[str]) -> None:
    """Turn numeric settings given as text into numbers; a bad one is a problem, and so
    is a negative one (a negative lock time or time-out would switch a guard off)."""
    for name, (_default, kind) in _SETTINGS.items():
        raw = values.get(name)
        if kind is str:
            continue
        if isinstance(raw, str):
            try:
                values[name] = raw = _cast(raw.strip(), kind)
            except ValueError:
                problems.append(f"{name} must be a number")
                continue
        if isinstance(raw, int | float) and raw < 0:
            problems.append(f"{name} must not be negative")


#: Hosts where a plain-http PUBLIC_BASE_URL is acceptable (a local fake Twilio).
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _line_numbers(raw: Any, problems: list[str]) -> list[str]:
    """The line numbers as E.164 (a bad one is named by position, never echoed)."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    numbers: list[str] = []
    for position, item in enumerate((str(i).strip() for i in items), start=1):
        if not item:
            continue
        try:
            numbers.append(normalise(item))
        except InvalidNumber:
            problems.append(f"PEERLINE_NUMBERS entry {position} is not a phone number")
    return numbers


def _encryption_keys(raw: Any, problems: list[str]) -> None:
    """Each ``PEERLINE_ENCRYPTION_KEYS`` entry must be a Fernet key (named by position,
    never echoed): a bad one would otherwise stop the app with a traceback."""
    for position, key in enumerate((k.strip() for k in str(raw or "").split(",")), start=1):
        if not key:
            continue
        try:
            Fernet(key)
        except (ValueError, TypeError):  # binascii.Error is a ValueError
            problems.append(f"PEERLINE_ENCRYPTION_KEYS entry {position} is not a Fernet key "
                            "(32 url-safe base64-encoded bytes)")


def _production_problems(values: dict[str, Any]) -> list[str]:
    """What the Twilio gateway needs and is missing or unsafe (one entry per setting)."""
    problems = []
    secret = (values.get("SECRET_KEY") or "").strip()  # 16 spaces are no secret
    if not secret:
        problems.append("SECRET_KEY is missing")
    elif secret in (DEV_SECRET_KEY, DEV_AUTH_TOKEN):
        problems.append("SECRET_KEY is the built-in dev key")
    elif len(secret) < MIN_SECRET_LENGTH:
        problems.append(f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters")
    hash_key = str(values.get("PEERLINE_HASH_KEY") or "")
    if hash_key and len(hash_key.strip()) < MIN_SECRET_LENGTH:
        # A short or blank key makes every stored number hash easy to reverse by trying
        # all numbers; unset, it is derived from SECRET_KEY.
        problems.append(f"PEERLINE_HASH_KEY is shorter than {MIN_SECRET_LENGTH} characters")
    token = values.get("TWILIO_AUTH_TOKEN") or ""
    if not token:
        problems.append("TWILIO_AUTH_TOKEN is missing")
    elif token in (DEV_AUTH_TOKEN, DEV_SECRET_KEY):
        problems.append("TWILIO_AUTH_TOKEN is the built-in dev token")
    if not values.get("TWILIO_ACCOUNT_SID"):
        problems.append("TWILIO_ACCOUNT_SID is missing")
    base = values.get("PUBLIC_BASE_URL") or ""
    if not base:
        problems.append("PUBLIC_BASE_URL is missing")
    else:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append("PUBLIC_BASE_URL must be an http(s) URL")
        elif parts.username or parts.password:
            problems.append("PUBLIC_BASE_URL must not carry a user name or password")
        elif parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
            # Twilio would sign and send survivors' words over plain http.
            problems.append("PUBLIC_BASE_URL must be https (plain http only on loopback)")
    if not [n for n in str(values.get("PEERLINE_NUMBERS") or "").split(",") if n.strip()]:
        problems.append("PEERLINE_NUMBERS is missing")
    # A URL that failed to load must not turn the line into an empty SQLite file and an
    # embedded Redis (no roster: volunteers' texts taken as survivors'); SQLite by URL is
    # a choice.
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not str(values.get(name) or "").strip():
            problems.append(f"{name} is missing")
    return problems


def _looks_deployed(values: dict[str, Any]) -> bool:
    """A server database or a public URL: not the embedded default on a laptop."""
    url = str(values.get("DATABASE_URL") or "")
    return bool(values.get("PUBLIC_BASE_URL")) or bool(url and not url.startswith("sqlite"))


def finalise(values: dict[str, Any]) -> dict[str, Any]:
    """Check and fill derived settings: gateway choice, dev defaults, the numbers list.

    Fails closed: raises :class:`ConfigError` naming every missing or unsafe setting.
    The Twilio gateway (chosen, or implied by any Twilio credential) needs a real
    ``SECRET_KEY``, both credentials, ``PUBLIC_BASE_URL``, ``PEERLINE_NUMBERS``,
    ``DATABASE_URL`` and ``REDIS_URL``; the
    dev secret, dev signing token and dev numbers exist only for the local gateway.
    """
    problems: list[str] = []
    _typed(values, problems)
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        # Blanks are no credential: a token of spaces would sign webhooks anyone can forge.
        values[name] = str(values.get(name) or "").strip()
    gateway = values.get("PEERLINE_GATEWAY") or ""
    if not gateway:
        has_twilio = values.get("TWILIO_ACCOUNT_SID") or values.get("TWILIO_AUTH_TOKEN")
        gateway = "twilio" if has_twilio else "local"
        if gateway == "local" and _looks_deployed(values):
            # Secrets that failed to load must not turn a deployment into the dev line
            # (dev signing token, simulator): the local gateway there is asked for by name.
            problems.append("no Twilio credentials, but DATABASE_URL or PUBLIC_BASE_URL "
                            "says this is a deployment: set TWILIO_ACCOUNT_SID and "
                            "TWILIO_AUTH_TOKEN, or PEERLINE_GATEWAY=local on purpose")
    elif gateway not in GATEWAYS:  # exact: "Twilio" or "twillio" is a typo, not a choice
        problems.append(f"PEERLINE_GATEWAY must be 'twilio' or 'local', not {gateway[:20]!r}")
    values["PEERLINE_GATEWAY"] = gateway
    if values.get("TWILIO_AUTH_TOKEN") and not values.get("TWILIO_ACCOUNT_SID"):
        if gateway != "twilio":  # the Twilio checks below name it already
            problems.append("TWILIO_AUTH_TOKEN is set without TWILIO_ACCOUNT_SID")
    if gateway == "twilio":
        problems.extend(_production_problems(values))
    numbers = _line_numbers(values.get("PEERLINE_NUMBERS") or "", problems)
    _encryption_keys(values.get("PEERLINE_ENCRYPTION_KEYS"), problems)
    # Normalised once here: alerts are sent to it and every inbound text is compared.
    oncall = values.get("PEERLINE_ONCALL_NUMBER") or ""
    try:
        values["PEERLINE_ONCALL_NUMBER"] = normalise(oncall) if oncall else ""
    except InvalidNumber:
        problems.append("PEERLINE_ONCALL_NUMBER is not a phone number")
    zone = str(values.get("PEERLINE_TIMEZONE") or "").strip()
    if not valid_zone(zone):
        problems.append(f"PEERLINE_TIMEZONE is not a known time zone: {zone[:40]!r}")
    values["PEERLINE_TIMEZONE"] = zone
    if problems:
        raise ConfigError(problems)
    values["USING_DEV_SECRET"] = not values.get("SECRET_KEY")
    if not values.get("SECRET_KEY"):
        values["SECRET_KEY"] = DEV_SECRET_KEY
    # Signatures are always checked: the real token whenever it is set, whatever the
    # gateway; the dev token only signs for the local gateway (the simulator).
    values["SIGNING_TOKEN"] = values.get("TWILIO_AUTH_TOKEN") or DEV_AUTH_TOKEN
    if gateway != "local" and values["SIGNING_TOKEN"] == DEV_AUTH_TOKEN:
        raise ConfigError(["the dev signing token is only for the local gateway"])
    values["USING_DEV_NUMBERS"] = not numbers
    values["PEERLINE_NUMBERS"] = numbers or DEV_NUMBERS.split(",")
    return values
