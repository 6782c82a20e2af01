"""SQLAlchemy 2.0 typed models, one module per concept; every table is importable from here.

``base`` (the declarative base), ``people`` (volunteers, survivors), ``text``
(conversations, messages, offers, escalations, alerts), ``delivery`` (outbound texts,
tasks, delivery reports, the gateway hold, the local gateway's record), ``voice`` (calls,
rings, voicemails), ``peer`` (peer choices, feedback, applications), ``privacy``
(deletions asked of the provider), ``dashboard`` (coordinators' accounts and the audit
log), ``schedule`` (shifts, their cancelled dates and occurrences), ``groups`` (group sessions by
conference call: schedule, sign-ups, meetings, keypad actions). Importing this package
registers every table on ``Base.metadata`` (Alembic reads it).
"""

from peerline.models.base import Base
from peerline.models.dashboard import AuditEntry, Role, User
from peerline.models.delivery import (
    DeliveryReport,
    GatewayHold,
    LocalMessage,
    OutboundMessage,
    OutboundStatus,
    Task,
)
from peerline.models.groups import (
    GroupAction,
    GroupActionKind,
    GroupMeeting,
    GroupPinFailures,
    GroupSession,
    GroupSignup,
    SignupStatus,
)
from peerline.models.peer import (
    Application,
    ApplicationStatus,
    ApplicationStep,
    Feedback,
    PeerChoice,
)
from peerline.models.people import Survivor, Volunteer
from peerline.models.privacy import DeletionStatus, RemoteDeletion
from peerline.models.schedule import Shift, ShiftException, ShiftSlot, SlotStatus
from peerline.models.text import (
    OPEN_WHERE,
    Alert,
    Conversation,
    ConversationStatus,
    Escalation,
    EscalationSource,
    Message,
    Offer,
    OfferStatus,
)
from peerline.models.voice import (
    ACCEPTED_WHERE,
    Call,
    CallOutcome,
    CallRole,
    CallStage,
    Ring,
    RingStatus,
    TransferStatus,
    Voicemail,
    VoicemailStatus,
)

__all__ = [
    "ACCEPTED_WHERE",
    "OPEN_WHERE",
    "Alert",
    "Application",
    "ApplicationStatus",
    "ApplicationStep",
    "AuditEntry",
    "Base",
    "Call",
    "CallOutcome",
    "CallRole",
    "CallStage",
    "Conversation",
    "ConversationStatus",
    "DeletionStatus",
    "DeliveryReport",
    "Escalation",
    "Feedback",
    "EscalationSource",
    "GatewayHold",
    "GroupAction",
    "GroupActionKind",
    "GroupMeeting",
    "GroupPinFailures",
    "GroupSession",
    "GroupSignup",
    "LocalMessage",
    "Message",
    "Offer",
    "OfferStatus",
    "OutboundMessage",
    "OutboundStatus",
    "PeerChoice",
    "RemoteDeletion",
    "Ring",
    "RingStatus",
    "Role",
    "Shift",
    "ShiftException",
    "ShiftSlot",
    "SlotStatus",
    "SignupStatus",
    "Survivor",
    "Task",
    "TransferStatus",
    "User",
    "Voicemail",
    "VoicemailStatus",
    "Volunteer",
]
