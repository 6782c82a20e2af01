"""People the line knows by their (encrypted) phone: volunteers and survivors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ColumnElement, DateTime, Integer, String, Text, or_
from sqlalchemy.orm import Mapped, mapped_column

from peerline.models.base import Base


class Volunteer(Base):
    """A trained peer on the roster, known by their (encrypted) phone."""

    __tablename__ = "volunteers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone_enc: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    languages: Mapped[str] = mapped_column(String(40), default="en")
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    on_shift: Mapped[bool] = mapped_column(Boolean, default=False)
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)  # in a voice call now
    shift_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_freed_at: Mapped[datetime | None] = mapped_column(DateTime)
    missed_offers: Mapped[int] = mapped_column(Integer, default=0)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    pin_hash: Mapped[str | None] = mapped_column(String(200))  # werkzeug scrypt hash
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_failed_at: Mapped[datetime | None] = mapped_column(DateTime)  # the last wrong PIN
    pin_locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    # Wrong codes texted back (CANT/SWAP, an application's code): counted apart from PINs,
    # so a faked From can lock only the codes, never voice access (people/pins.py).
    code_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    code_failed_at: Mapped[datetime | None] = mapped_column(DateTime)
    code_locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    break_until: Mapped[datetime | None] = mapped_column(DateTime)  # BREAK: no offers till then
    #: The volunteer's own last ON/OFF (text or phone): inside a scheduled shift it wins.
    shift_said_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Wellbeing: no new offers until then, after a crisis conversation ended (a cool-down).
    cooldown_until: Mapped[datetime | None] = mapped_column(DateTime)
    # Wellbeing caps for this volunteer (None: the line's PEERLINE_CAP_PER_* settings).
    cap_per_shift: Mapped[int | None] = mapped_column(Integer)
    cap_per_week: Mapped[int | None] = mapped_column(Integer)
    # Lived-experience tags set by coordinators (comma-separated, from PEERLINE_PEER_TAGS);
    # no_match_tags: the ones this volunteer does not want to be matched on.
    tags: Mapped[str] = mapped_column(String(300), default="", server_default="")
    no_match_tags: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)

    def speaks(self, lang: str) -> bool:
        """True when ``lang`` is among this volunteer's languages."""
        return lang in self.language_list

    def on_break(self, now: datetime) -> bool:
        """True while a ``BREAK`` keeps new offers and rings away (live conversations go on)."""
        return self.break_until is not None and self.break_until > now

    @classmethod
    def off_break(cls, now: datetime) -> ColumnElement[bool]:
        """SQL: the volunteer is not on a break at ``now`` (an expired break is over)."""
        return or_(cls.break_until.is_(None), cls.break_until <= now)

    def cooling_down(self, now: datetime) -> bool:
        """True during the cool-down after a crisis conversation (no new offers or rings)."""
        return self.cooldown_until is not None and self.cooldown_until > now

    @classmethod
    def off_cooldown(cls, now: datetime) -> ColumnElement[bool]:
        """SQL: the volunteer is not cooling down after a crisis at ``now``."""
        return or_(cls.cooldown_until.is_(None), cls.cooldown_until <= now)

    @property
    def tag_list(self) -> list[str]:
        """Lived-experience tags as a list."""
        return [t.strip() for t in (self.tags or "").split(",") if t.strip()]

    @property
    def match_tags(self) -> list[str]:
        """Tags this volunteer may be matched on (their tags minus the no-match ones)."""
        off = {t.strip() for t in (self.no_match_tags or "").split(",") if t.strip()}
        return [t for t in self.tag_list if t not in off]

    @property
    def language_list(self) -> list[str]:
        """Languages as a list of codes."""
        return [code.strip() for code in self.languages.split(",") if code.strip()]


class Survivor(Base):
    """Anyone who reaches the line and is not on the roster."""

    __tablename__ = "survivors"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_enc: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime)  # STOP; None after a quick exit
    last_hotline_at: Mapped[datetime | None] = mapped_column(DateTime)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)  # last quick exit
    created_at: Mapped[datetime] = mapped_column(DateTime)
