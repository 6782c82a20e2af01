"""What domain code needs besides a DB session: settings, the vault, the gateway, a clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from peerline.privacy.vault import PhoneVault
from peerline.telephony.gateway import Gateway

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from peerline.models import OutboundMessage

#: What happens when a text fails for good (see ``peerline.handlers.TEXT_FAILED``).
TextFailed = Callable[["Session", "Line", "OutboundMessage"], None]


def utcnow() -> datetime:
    """Naive UTC now (the database stores naive UTC everywhere)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Line:
    """The line's settings and outside parts, handed to domain functions."""

    settings: dict[str, Any]
    vault: PhoneVault
    gateway: Gateway
    clock: Callable[[], datetime] = field(default=utcnow)
    #: The worker process's heartbeat name, recorded on the leases it takes (None when
    #: nothing beats for this process: its leases then simply run out).
    owner: str | None = None
    #: By ``OutboundMessage.kind``: run when such a text fails for good (the app passes
    #: ``peerline.handlers.TEXT_FAILED``).
    text_failed: Mapping[str, TextFailed] = field(default_factory=dict)

    def now(self) -> datetime:
        """The current time (naive UTC); tests move the clock."""
        return self.clock()

    @property
    def numbers(self) -> list[str]:
        """The line numbers, first one the main number."""
        return list(self.settings["PEERLINE_NUMBERS"])

    def setting(self, name: str) -> Any:
        """One setting by name."""
        return self.settings[name]

    def callback_url(self, path: str) -> str | None:
        """An absolute URL for Twilio callbacks, or None when there is no public base."""
        base = self.settings.get("PUBLIC_BASE_URL") or ""
        return base.rstrip("/") + path if base else None
