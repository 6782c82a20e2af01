"""SQLAlchemy 2.0 typed models, one module per concept; every table is importable from here.

``base`` (the declarative base), ``people`` (volunteers, survivors), ``text``
(conversations, messages, offers, escalations, alerts), ``delivery`` (outbound texts,
tasks, delivery reports, the gateway hold, the local gateway's record), ``voice`` (calls,
rings, voicemails), ``privacy`` (deletions asked of the provider), ``dashboard``
(coordinators' accounts and the audit log). Importing this package
registers every table on ``Base.metadata`` (Alembic reads it).
"""

from peerline.models.base import Base
from peerline.models.dashboard import AuditEntry, Role, User
from peerline.models.delivery import (
    DeliveryReport,
    GatewayHold,
    LocalMessage,
    OutboundMessage,
    Task,
)
from peerline.models.people import Survivor, Volunteer
from peerline.models.privacy import RemoteDeletion
from peerline.models.text import OPEN_WHERE, Alert, Conversation, Escalation, Message, Offer
from peerline.models.voice import ACCEPTED_WHERE, Call, Ring, Voicemail

__all__ = [
    "ACCEPTED_WHERE",
    "OPEN_WHERE",
    "Alert",
    "AuditEntry",
    "Base",
    "Call",
    "Conversation",
    "DeliveryReport",
    "Escalation",
    "GatewayHold",
    "LocalMessage",
    "Message",
    "Offer",
    "OutboundMessage",
    "RemoteDeletion",
    "Ring",
    "Role",
    "Survivor",
    "Task",
    "User",
    "Voicemail",
    "Volunteer",
]
