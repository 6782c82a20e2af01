"""A crisis broadcast's texts go out side by side, each with every guarantee of a send.

The real Twilio client against the fake Twilio (which holds each accepted send for
``slow_s`` and counts how many it held at once), a real RQ SimpleWorker.
"""

from __future__ import annotations

from sqlalchemy import select

from peerline.delivery import outbox
from peerline.models import Offer, OutboundMessage

from .helpers import LINE

CRISIS = "I want to end it all tonight, I have the pills right here"
SURV = "+15550299001"
PEERS = [f"+1555010{n:04d}" for n in range(1, 6)]
BROKEN = PEERS[2]  # Twilio refuses this one for good (not a valid number)




def _add(svc, name: str, phone: str) -> int:  # noqa: ANN001
    from peerline.people import roster

    with svc.sessions.begin() as session:
        return roster.add_volunteer(session, svc.line, name, phone, "en", 1).id


def test_a_crisis_broadcast_is_sent_side_by_side_and_one_failure_stays_its_own(
        twilio_settings, phones, svc, fake):
    for i, phone in enumerate(PEERS):
        _add(svc, f"Peer {i}", phone)
        phones.text(phone, "ON")
    fake.configure(permanent={BROKEN: 21211}, slow_s=0.5)
    assert phones.text(SURV, CRISIS).status_code == 200
    phones.work()

    for phone in PEERS:
        offers = [b for b in fake.bodies(phone) if b.startswith("CRISIS OFFER")]
        assert len(offers) == (0 if phone == BROKEN else 1), phone  # once each
    assert fake.peak_in_flight >= 2  # held by the fake at the same time: not one by one
    vault = svc.line.vault
    with svc.sessions() as session:
        texts = session.scalars(select(OutboundMessage).where(
            OutboundMessage.kind == "offer")).all()
        assert len(texts) == len(PEERS)
        accepted = {m.sid for m in fake.delivered()}
        for text in texts:
            if text.to_hash == vault.hash(BROKEN):
                assert (text.status, text.error_code, text.sid) == ("failed", 21211, None)
                assert session.get(Offer, text.offer_id).status == "failed"
            else:
                assert text.status == "sent" and text.sid in accepted
                assert session.get(Offer, text.offer_id).status == "pending"
    # Twilio was asked once for the broken number: a permanent error is not retried.
    assert sum(1 for _, kind, outcome in fake.requests
               if kind == "message" and outcome == "21211") == 1


def test_a_batch_keeps_each_persons_texts_in_order_and_retries_faults(
        twilio_settings, phones, svc, fake):
    fake.configure(slow_s=0.2, fault_rate=0.3, faults=("500", "429", "accept_500"),
                   retry_after="0")
    expected: dict[str, list[str]] = {phone: [] for phone in PEERS[:3]}
    with svc.sessions.begin() as session:  # one transaction queues the lot: one batch
        for i in range(3):
            for phone in PEERS[:3]:
                body = f"alert {i} for {phone[-2:]}"
                outbox.queue_text(session, svc.line, phone, LINE, body, kind="alert")
                expected[phone].append(body)
    phones.work()
    for phone, bodies in expected.items():
        assert fake.bodies(phone) == bodies  # each exactly once, in order
    seen = fake.faults_seen()
    assert any(seen.get(f) for f in ("500", "429", "accept_500")), seen  # faults did fire
    with svc.sessions() as session:
        assert set(session.scalars(select(OutboundMessage.status))) == {"sent"}
