"""Every task kind and the function that runs it: the one list, checked at start.

Domain modules store tasks (``tasks.add(session, TaskKind.SEND, ...)``) and define plain
handler functions; nothing registers itself on import. The worker's job
(:func:`workers.jobs.run_task`) runs a task with :data:`HANDLERS`, and the app factory
calls :func:`check` so that a kind without a handler stops the line at start instead of
failing a survivor's text later. :data:`TEXT_FAILED` is the same idea for texts that
fail for good: what to do, by the text's ``kind``.
"""

from __future__ import annotations

from collections.abc import Mapping

from peerline.delivery import outbox, remote_delete
from peerline.delivery.tasks import Handler, TaskKind
from peerline.groups import conference, signup
from peerline.groups import feedback as group_feedback
from peerline.line import TextFailed
from peerline.people import breaks, cooldown, oncall
from peerline.privacy import purge
from peerline.text import offers, pairing
from peerline.voice import handlers as voice

HANDLERS: Mapping[str, Handler] = {
    TaskKind.SEND: outbox.deliver,
    TaskKind.PAIR: pairing.pair_task,
    TaskKind.OFFER_EXPIRE: offers.expire_task,
    TaskKind.PURGE: purge.purge_task,
    TaskKind.REMOTE_DELETE: remote_delete.remote_delete_task,
    TaskKind.ALERT_GATEWAY_REFUSED: oncall.alert_gateway_refused,
    TaskKind.VOICE_RING: voice.ring_task,
    TaskKind.VOICE_DIAL: voice.dial_task,
    TaskKind.VOICE_HANGUP: voice.hangup_task,
    TaskKind.VOICE_BRIDGE: voice.bridge_task,
    TaskKind.VOICE_PEER_LEFT: voice.peer_left_task,
    TaskKind.VOICE_DEADLINE: voice.deadline_task,
    TaskKind.VOICE_HOTLINE: voice.hotline_task,
    TaskKind.VOICE_TELL_PEER: voice.tell_peer_task,
    TaskKind.VOICE_CALLBACK: voice.callback_task,
    TaskKind.BREAK_OVER: breaks.break_over_task,
    TaskKind.COOLDOWN_OVER: cooldown.cooldown_over_task,
    TaskKind.MATCH_WAIT_OVER: pairing.match_wait_task,
    TaskKind.GROUP_REMIND: signup.remind_task,
    TaskKind.GROUP_ACTION: conference.action_task,
    TaskKind.GROUP_FEEDBACK: group_feedback.feedback_task,
}

#: What happens when a text fails for good, by ``OutboundMessage.kind`` (in the same
#: transaction): an undeliverable offer moves on to the next volunteer.
TEXT_FAILED: Mapping[str, TextFailed] = {
    "offer": offers.offer_text_failed,
}


def check(handlers: Mapping[str, Handler] = HANDLERS) -> None:
    """Raise ``RuntimeError`` naming every task kind that has no handler."""
    missing = sorted(kind.value for kind in TaskKind if kind not in handlers)
    if missing:
        raise RuntimeError("no handler for task kind(s): " + ", ".join(missing))
