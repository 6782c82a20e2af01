"""Lived-experience tags: the configured list (``PEERLINE_PEER_TAGS``), its names in the
survivor's language, and coordinators' audited changes to a volunteer's tags."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from peerline.line import Line
from peerline.models import Volunteer
from peerline.staff import audit


class TagError(ValueError):
    """A tag change that cannot be made (an unknown tag, a stray not-to-match one)."""


def _split(raw: str) -> list[str]:
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def configured(line: Line) -> list[str]:
    """The tags coordinators may give volunteers, in the order survivors see them."""
    return _split(line.setting("PEERLINE_PEER_TAGS"))


def names(line: Line, lang: str) -> list[str]:
    """The tags as a survivor reads them (Spanish when the Spanish list is as long)."""
    tags = configured(line)
    if lang == "es":
        spanish = _split(line.setting("PEERLINE_PEER_TAGS_ES"))
        if len(spanish) == len(tags):
            return spanish
    return tags


def name_of(line: Line, tag: str, lang: str) -> str:
    """One tag in the survivor's language."""
    tags = configured(line)
    return names(line, lang)[tags.index(tag)] if tag in tags else tag


def parse(line: Line, raw: str | Iterable[str]) -> list[str]:
    """Tags from a comma-separated string or a list, each one checked against the
    configured list (case-insensitive); :class:`TagError` names an unknown one."""
    items = _split(raw) if isinstance(raw, str) else [i.strip() for i in raw if i.strip()]
    known = {tag.lower(): tag for tag in configured(line)}
    result: list[str] = []
    for item in items:
        tag = known.get(item.lower())
        if tag is None:
            raise TagError(f"unknown tag {item[:40]!r}; tags are: "
                              + ", ".join(configured(line)))
        if tag not in result:
            result.append(tag)
    return result


def set_tags(session: Session, line: Line, actor: str, volunteer_id: int, *,
             tags: str | Iterable[str], no_match: str | Iterable[str]) -> Volunteer:
    """Give a volunteer their lived-experience tags and the ones not to match on (a
    subset of their tags); audited with what changed."""
    volunteer = session.scalar(select(Volunteer).where(Volunteer.id == volunteer_id)
                               .with_for_update())
    if volunteer is None:
        raise TagError("no such volunteer")
    new_tags = parse(line, tags)
    new_off = parse(line, no_match)
    stray = [tag for tag in new_off if tag not in new_tags]
    if stray:
        raise TagError("not-to-match tags must be among the volunteer's tags: "
                          + ", ".join(stray))
    new = {"tags": ",".join(new_tags), "no_match_tags": ",".join(new_off)}
    changes = [f"{key}: {getattr(volunteer, key) or '-'} → {value or '-'}"
               for key, value in new.items() if (getattr(volunteer, key) or "") != value]
    for key, value in new.items():
        setattr(volunteer, key, value)
    if changes:
        audit.record(session, line, actor, "volunteer.tags", f"volunteer #{volunteer.id}",
                     "; ".join(changes))
    return volunteer
