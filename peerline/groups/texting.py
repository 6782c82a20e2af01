"""Survivors' group commands by text: ``GROUPS`` (``GRUPOS``), ``JOIN``, ``JOIN n``,
``LEAVE n``.

They are answered by the line itself: never relayed to a peer (even inside a live
conversation) and they never open a conversation by themselves. ``LEAVE`` without a
number is not a command (it may be words for the peer).
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from peerline.groups import signup
from peerline.line import Line
from peerline.models import Survivor

_NUMBERED = re.compile(r"(JOIN|LEAVE)\s*#?\s*(\d{1,3})")


def is_group_command(word: str) -> bool:
    """True when ``word`` (a :func:`peerline.text.intake.command_word`) is a group command."""
    return word in ("GROUPS", "GRUPOS", "JOIN") or _NUMBERED.fullmatch(word) is not None


def command(session: Session, line: Line, survivor: Survivor, word: str,
            line_number: str) -> str:
    """The line's reply to a group command (see :func:`is_group_command`)."""
    if word in ("GROUPS", "JOIN"):
        return signup.list_text(session, line, survivor)
    if word == "GRUPOS":
        return signup.list_text(session, line, survivor, lang="es")
    match = _NUMBERED.fullmatch(word)
    assert match is not None
    verb, n = match.group(1), int(match.group(2))
    if verb == "JOIN":
        return signup.join(session, line, survivor, n, line_number)
    return signup.leave(session, line, survivor, n)
