"""``normalise``'s shortcut for ``+1`` and ten digits gives what phonenumbers gives."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from peerline.people import phones
from peerline.people.phones import InvalidNumber, normalise


def by_phonenumbers(text: str) -> str | None:
    try:
        parsed = phonenumbers.parse(text.strip(), "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def test_the_shortcut_agrees_with_phonenumbers():
    rng = random.Random(14)
    samples = ["+1" + "".join(rng.choice("0123456789") for _ in range(10))
               for _ in range(3000)]
    samples += ["+10000000000", "+19999999999", " +15550000001 ", "+15550000001\n"]
    for text in samples:
        assert normalise(text) == by_phonenumbers(text) == text.strip()


def test_the_shortcut_skips_phonenumbers(monkeypatch):
    def no(*_args, **_kwargs):
        raise AssertionError("phonenumbers asked about a plain +1 number")

    monkeypatch.setattr(phones.phonenumbers, "parse", no)
    assert normalise("+15557770101") == "+15557770101"


@pytest.mark.parametrize("text", ["+1٥٥٥١٢٣٤٥٦٧", "+1555123456", "+155512345678",
                                  "+1 555 123 4567", "(555) 123-4567", "+447911123456",
                                  "+1555123456x", "15551234567"])
def test_anything_else_is_phonenumbers_answer(text):
    expected = by_phonenumbers(text)
    if expected is None:
        with pytest.raises(InvalidNumber):
            normalise(text)
    else:
        assert normalise(text) == expected
