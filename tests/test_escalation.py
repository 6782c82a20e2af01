"""Crisis escalation as stories: hotline in the same reply, queue jump, alerts, record."""

from __future__ import annotations

from sqlalchemy import func, select

from peerline.models import Conversation, Escalation, Offer

from .test_text_line import ALEX, ONCALL, SAM, SURV, SURV2, add_volunteer

KIT = "+15550100003"


def escalations(svc):
    with svc.sessions() as session:
        return session.scalars(select(Escalation).order_by(Escalation.id)).all()


def test_crisis_text_gets_hotline_now_jumps_queue_and_is_broadcast(phones, svc, clock):
    for name, phone in (("Alex", ALEX), ("Sam", SAM), ("Kit", KIT)):
        add_volunteer(svc, name, phone, capacity=1)
        phones.text(phone, "ON")
    phones.text("+15550199050", "hi, just wanted to talk")  # arrives first
    phones.work()
    clock.advance(30)
    replies = phones.replies(phones.text(SURV, "i want to kill myself tonight"))
    assert any("988" in r for r in replies)
    with svc.sessions() as session:
        crisis = session.scalar(select(Conversation).where(Conversation.priority == 1))
        assert crisis is not None and crisis.status == "waiting"
    phones.work()
    # Offered to everyone free at once (one volunteer already holds the first offer).
    with svc.sessions() as session:
        offers = session.scalars(select(Offer).where(
            Offer.conversation_id == crisis.id)).all()
    assert len(offers) == 2 and all(o.broadcast for o in offers)
    assert "CRISIS" in phones.bodies(ONCALL)[-1]
    record = escalations(svc)[0]
    assert record.category == "suicidal_intent" and record.source == "detector"
    assert "kill myself" in record.matched
    assert "coordinator" in record.alerted
    # First YES wins; the other is told it was taken.
    volunteers = [(o.volunteer_id, o.line_number) for o in offers]
    phones_by_id = {}
    from peerline.models import Volunteer

    with svc.sessions() as session:
        for vid, _ in volunteers:
            phones_by_id[vid] = svc.line.vault.decrypt(session.get(Volunteer, vid).phone_enc)
    first, second = volunteers
    phones.text(phones_by_id[first[0]], "YES", to=first[1])
    assert "no longer open" in phones.replies(phones.text(phones_by_id[second[0]], "yes",
                                                          to=second[1]))[0]
    phones.work()
    assert "taken by another peer" in phones.bodies(phones_by_id[second[0]])[-1]
    with svc.sessions() as session:
        assert session.get(Conversation, crisis.id).volunteer_id == first[0]


def test_crisis_in_a_live_conversation_alerts_the_peer(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    replies = phones.replies(phones.text(SURV, "i took a bottle of pills"))
    assert any("988" in r for r in replies)
    phones.work()
    bodies = phones.bodies(ALEX)
    assert bodies[-2].startswith("CRISIS ALERT") or bodies[-1].startswith("CRISIS ALERT")
    assert "i took a bottle of pills" in bodies
    assert escalations(svc)[0].alerted.startswith("paired volunteer")


def test_idioms_take_the_ordinary_path(phones, svc):
    for text in ("this homework is killing me", "I'm dying to see the new movie",
                 "me muero de risa jaja", "my feet are killing me lol"):
        replies = phones.replies(phones.text(SURV, text))
        assert not any("988" in r for r in replies if "No peer" not in r), text
    assert escalations(svc) == []


def test_hotline_is_not_repeated_within_the_window(phones, svc, clock):
    first = phones.replies(phones.text(SURV, "I want to die"))
    again = phones.replies(phones.text(SURV, "i really want to die"))
    assert any("988" in r for r in first)
    assert not any("Suicide & Crisis" in r for r in again)
    [record] = escalations(svc)  # the open escalation is updated, not repeated
    assert record.seen_count == 2
    clock.advance(3601)
    later = phones.replies(phones.text(SURV, "i want to die"))
    assert any("Suicide & Crisis" in r for r in later)


def test_spanish_gets_spanish_hotline(phones):
    replies = phones.replies(phones.text(SURV, "ya no quiero vivir, me quiero matar"))
    assert any("AYUDA" in r and "988" in r for r in replies)


def test_abuse_in_progress_gets_the_domestic_violence_line(phones, svc):
    replies = phones.replies(phones.text(SURV, "he is hitting me right now"))
    assert any("1-800-799-7233" in r for r in replies)
    assert escalations(svc)[0].category == "imminent_danger"


def test_phrase_split_across_two_texts(phones, svc):
    def escalations() -> int:
        with svc.sessions() as session:
            return session.scalar(select(func.count()).select_from(Escalation))

    phones.text(SURV, "some days i want to")
    assert escalations() == 0  # nothing yet: the thought is unfinished
    replies = phones.replies(phones.text(SURV, "die"))
    assert any("988" in r for r in replies)
    assert escalations() == 1


def test_volunteer_flags_crisis_by_hand(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    number = phones.pair(ALEX, SURV2)
    reply = phones.replies(phones.text(ALEX, "#crisis", to=number))
    assert "escalation recorded" in reply[0]
    phones.work()
    assert any("988" in b for b in phones.bodies(SURV2))
    record = escalations(svc)[0]
    assert record.source == "volunteer" and record.category == "manual"
    assert "CRISIS" in phones.bodies(ONCALL)[-1]


def test_opted_out_numbers_get_nothing(phones, svc):
    phones.text(SURV, "hi")
    phones.text(SURV, "STOP")
    replies = phones.replies(phones.text(SURV, "i want to kill myself"))
    assert replies == []
    phones.work()
    assert not any("988" in b for b in phones.bodies(SURV))


def test_escalations_are_listed_and_acknowledged(phones, svc, app):
    phones.text(SURV, "i want to kill myself")
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["escalations", "list", "--open"]).output
    assert "suicidal_intent" in listing and "OPEN" in listing and "199001" not in listing
    eid = escalations(svc)[0].id
    assert runner.invoke(args=["escalations", "ack", str(eid), "--by", "Dana"]).exit_code == 0
    record = escalations(svc)[0]
    assert record.acknowledged_by == "Dana" and record.acknowledged_at is not None
    assert runner.invoke(args=["escalations", "ack", str(eid), "--by", "Dana"]).exit_code != 0
    assert "no escalations" in runner.invoke(args=["escalations", "list", "--open"]).output


def test_the_oncall_coordinator_acknowledges_by_text(phones, svc):
    phones.text(SURV, "i want to kill myself")
    phones.work()
    alert = next(b for b in phones.bodies(ONCALL) if "CRISIS" in b)
    eid = escalations(svc)[0].id
    assert f"ACK {eid}" in alert
    assert "acknowledged" in phones.replies(phones.text(ONCALL, f"ack {eid}"))[0]
    assert escalations(svc)[0].acknowledged_by == "on-call coordinator (text)"
    assert "No open escalation" in phones.replies(phones.text(ONCALL, f"ACK {eid}"))[0]
    status = phones.replies(phones.text(ONCALL, "status"))[0]
    assert "1 waiting" in status and "0 open escalation" in status
    assert "ACK n" in phones.replies(phones.text(ONCALL, "got it, thanks"))[0]
    with svc.sessions() as session:  # the coordinator never became a survivor
        assert len(session.scalars(select(Conversation)).all()) == 1


def test_a_first_text_in_crisis_gets_the_hotline_first_and_once(phones):
    replies = phones.replies(phones.text(SURV, "i have the pills and i want to die tonight"))
    assert "988" in replies[0]
    assert sum("988" in r for r in replies) == 1


def test_without_an_oncall_coordinator_no_text_promises_one(phones, svc):
    svc.config["PEERLINE_ONCALL_NUMBER"] = ""  # the line's settings: nobody on call
    add_volunteer(svc, "Alex", ALEX)
    line = phones.pair(ALEX, SURV)
    phones.text(SURV, "i took a bottle of pills")
    phones.work()
    alert = next(b for b in phones.bodies(ALEX) if b.startswith("CRISIS ALERT"))
    flagged = phones.replies(phones.text(ALEX, "#CRISIS", to=line))
    for text in (alert, *flagged):
        assert "coordinator is alerted" not in text and "has been alerted" not in text
        assert "no on-call coordinator" in text.lower()
