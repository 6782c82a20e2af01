"""Phone numbers: parse and normalise to E.164 with ``phonenumbers``."""

from __future__ import annotations

import re

import phonenumbers

#: What carriers and Twilio send for a withheld caller ID.
WITHHELD = {"anonymous", "restricted", "unknown", "blocked", "private", "+266696687",
            "+86282452253", "+7378742833", "+2562533", "+8656696"}


#: ``+1`` and ten ASCII digits, as Twilio sends North American numbers: already E.164 and
#: possible whatever the digits, so phonenumbers (~100 Python calls) is not asked
#: (``tests/test_phones.py`` checks the shortcut against it).
_NANP_E164 = re.compile(r"\+1[0-9]{10}")


class InvalidNumber(ValueError):
    """The text is not a possible phone number."""


def normalise(raw: str | None, region: str = "US") -> str:
    """Return ``raw`` as E.164, or raise :class:`InvalidNumber`.

    Any *possible* number is accepted (test ranges such as +1 555 fail the stricter
    validity check but are real enough for a line).
    """
    text = (raw or "").strip()
    if not text or text.lower() in WITHHELD or len(text) > 32:
        raise InvalidNumber("not a phone number")
    if _NANP_E164.fullmatch(text):
        return text
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber("not a phone number") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_withheld(raw: str | None) -> bool:
    """True for a caller ID the network withheld (``Anonymous`` and friends)."""
    return (raw or "").strip().lower() in WITHHELD


def masked(number: str) -> str:
    """A display form that never reveals a number: ``+1•••••••01``."""
    return number[:2] + "•" * max(len(number) - 4, 0) + number[-2:] if number else ""
