"""``RESOURCES`` / ``RECURSOS``: the crisis hotline first, then the configured hotlines
and local services (``PEERLINE_RESOURCES_EN`` / ``_ES``, entries separated by ``|``)."""

from __future__ import annotations

from peerline.line import Line
from peerline.text.conversations import hotline_text
from peerline.text.texts import say

#: The words, as the whole message; RECURSOS always answers in Spanish.
WORDS = {"RESOURCES": None, "RESOURCE": None, "RECURSOS": "es"}


def is_resources(word: str) -> bool:
    """True when a command word asks for the resources list."""
    return word in WORDS


def reply(line: Line, word: str, survivor_lang: str) -> str:
    """The resources text in the survivor's language (Spanish for ``RECURSOS``)."""
    lang = WORDS.get(word) or survivor_lang
    key = "PEERLINE_RESOURCES_ES" if lang == "es" else "PEERLINE_RESOURCES_EN"
    entries = [e.strip() for e in (line.setting(key) or "").split("|") if e.strip()]
    listed = "\n".join(f"- {entry}" for entry in entries)
    return say("resources", lang, hotline=hotline_text(line, lang), entries=listed)
