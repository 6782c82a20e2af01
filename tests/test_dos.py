"""Denial of service and odd values: body limit, integers beyond the database, crisis floods."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from peerline.app import MAX_BODY_BYTES
from peerline.models import DeliveryReport, Escalation, Message
from peerline.telephony.params import DB_INT_MAX, BadNumber, db_int

from .helpers import LINE, new_sid
from .test_text_line import ALEX, ONCALL, SAM, SURV, add_volunteer

# --- request bodies over 64 KiB: 413 before parsing, on every route --------------------


def _routes(app):
    for rule in app.url_map.iter_rules():
        values = {name: ("simulator.js" if name == "filename" else "1")
                  for name in rule.arguments}
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_a_body_over_64_kib_is_a_413_on_every_route(phones, app):
    assert MAX_BODY_BYTES == 64 * 1024
    body = b"Body=" + b"x" * MAX_BODY_BYTES
    seen = 0
    for method, path in _routes(app):
        response = phones.client.open(path, method=method, data=body,
                                      content_type="application/x-www-form-urlencoded")
        assert response.status_code == 413, (method, path, response.status_code)
        seen += 1
    assert seen > 30  # sms, voice, health, simulators
    with phones.svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_long_text_under_the_limit_is_still_taken(phones, svc):
    body = "words " * 9000  # ~53 KiB of form data, signed: stored and answered
    assert phones.text(SURV, body).status_code == 200
    with svc.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1


class Endless(io.RawIOBase):
    """A huge request body (8 MiB, as good as endless here), counting what is read of it."""

    def __init__(self, total: int = 8 * 1024 * 1024) -> None:
        self.read_bytes = 0
        self.total = total

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        size = min(len(buffer), 8192, self.total - self.read_bytes)
        buffer[:size] = b"x" * size
        self.read_bytes += size
        return size


def _chunked(path: str, stream, signature: str) -> dict:  # noqa: ANN001
    """A WSGI environ as gunicorn builds it for a chunked body (no Content-Length)."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path, method="POST",
                             content_type="application/x-www-form-urlencoded",
                             headers={"Transfer-Encoding": "chunked",
                                      "X-Twilio-Signature": signature}).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True})
    return environ


def _call(app, environ: dict) -> int:  # noqa: ANN001
    """Run the app on a raw environ (the test client would measure the stream first)."""
    from werkzeug.test import run_wsgi_app

    app_iter, status, _headers = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0])


@pytest.mark.parametrize("path", ["/sms/inbound", "/voice/inbound", "/healthz", "/nowhere"])
def test_a_chunked_body_without_length_is_cut_at_the_limit_not_read_whole(phones, path):
    stream = Endless()
    assert _call(phones.app, _chunked(path, stream, "forged")) == 413
    assert stream.read_bytes <= MAX_BODY_BYTES + 64 * 1024  # a buffer, never the body


def test_a_small_chunked_text_is_parsed_as_usual(phones, svc):
    from peerline.telephony.signature import sign

    from .helpers import BASE_URL

    params = {"MessageSid": new_sid(), "From": SURV, "To": LINE, "Body": "hi there"}
    signature = sign(BASE_URL + "/sms/inbound", params, phones.app.config["SIGNING_TOKEN"])
    stream = io.BytesIO(urlencode(params).encode())
    assert _call(phones.app, _chunked("/sms/inbound", stream, signature)) == 200
    with svc.sessions() as session:
        assert session.scalar(select(Message.body)) == "hi there"


# --- integers beyond the database's range: 400 (or ignored), never 5xx ----------------

ODD = [str(2**31), str(10**30), "-1", "1e5", " 7 ", "\u00b2", "\u0661\u0662", "0x10"]


@pytest.mark.parametrize("raw", ODD)
def test_the_one_helper_refuses_what_the_database_cannot_hold(raw):
    with pytest.raises(BadNumber):
        db_int(raw, "NumMedia")


def test_the_one_helper_takes_plain_counts():
    assert db_int("0", "x") == 0 and db_int(str(DB_INT_MAX), "x") == DB_INT_MAX
    assert db_int("", "x") is None and db_int(None, "x") is None


def _webhook_routes(app):
    return sorted({r.rule for r in app.url_map.iter_rules()
                   if "POST" in r.methods and r.rule.startswith(("/sms", "/voice"))})


@pytest.mark.parametrize("value", ODD)
def test_odd_integers_never_give_a_5xx_on_any_webhook(phones, app, value):
    routes = _webhook_routes(app)
    assert len(routes) > 20
    for path in routes:
        for field in ("call", "ring", "vm", "hotline"):
            params = {"CallSid": new_sid("CA"), "MessageSid": new_sid(), "From": SURV,
                      "To": LINE, "Body": "hi", "NumMedia": value, "ErrorCode": value,
                      "MessageStatus": "failed", "CallStatus": "completed",
                      "QueueTime": value, "RecordingDuration": value, "CallDuration": value,
                      "Digits": "1"}
            response = phones.post(path, params, query=urlencode({field: value}))
            assert response.status_code < 500, (path, field, response.status_code)


@pytest.mark.parametrize("value", [str(2**31), str(10**30), "-1", "1e5", " 7 "])
def test_num_media_error_code_and_voice_ids_out_of_range_are_a_400(phones, svc, value):
    response = phones.text(SURV, "hi", NumMedia=value)
    assert response.status_code == 400 and b"NumMedia" in response.data
    response = phones.post("/sms/status", {"MessageSid": new_sid(), "MessageStatus": "failed",
                                           "ErrorCode": value})
    assert response.status_code == 400 and b"ErrorCode" in response.data
    for path, name in (("/voice/menu", "call"), ("/voice/ring", "ring"),
                       ("/voice/callback", "vm")):
        response = phones.post(path, {"CallSid": new_sid("CA"), "Digits": "1"},
                               query=urlencode({name: value}))
        assert response.status_code == 400, (path, response.status_code)
    with svc.sessions() as session:  # nothing half-stored, nothing spooled as an outage
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(func.count()).select_from(DeliveryReport)) == 0


def test_a_real_error_code_is_still_recorded(phones, svc):
    response = phones.post("/sms/status", {"MessageSid": "SM" + "1" * 32,
                                           "MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert response.status_code == 204
    with svc.sessions() as session:
        assert session.scalar(select(DeliveryReport.error_code)) == 30003


# --- a crisis flood: one open escalation, paced alerts, every text relayed ---------------

def escalations(svc):
    with svc.sessions() as session:
        return session.scalars(select(Escalation).order_by(Escalation.id)).all()


def alerts(phones, number):
    return [b for b in phones.bodies(number) if b.startswith("CRISIS ALERT")]


def test_100_crisis_texts_make_one_escalation_few_alerts_and_every_relay(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    said = [f"i want to die {n}" for n in range(100)]
    hotline_replies = 0
    for n, body in enumerate(said):
        replies = phones.replies(phones.text(SURV, body))
        hotline_replies += sum("Suicide & Crisis" in r for r in replies)
        if n % 25 == 24:
            phones.work()
    phones.work()
    [record] = escalations(svc)
    assert record.seen_count == 100 and record.categories == "suicidal_intent"
    assert record.last_seen_at is not None and record.acknowledged_at is None
    assert 1 <= len(alerts(phones, ALEX)) <= 2
    relayed = [b for b in phones.bodies(ALEX) if b.startswith("i want to die")]
    assert relayed == said  # every word, in order: only the alerts are paced
    assert hotline_replies == 1  # PEERLINE_HOTLINE_REPEAT_S paces the survivor's hotline
    assert sum("CRISIS" in b for b in phones.bodies(ONCALL)) == 1


def test_alerts_resume_after_the_gap_and_at_once_for_a_new_category(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    phones.text(SURV, "i want to die")
    phones.text(SURV, "i want to die")
    phones.work()
    assert len(alerts(phones, ALEX)) == 1
    phones.text(SURV, "he is hitting me right now")  # new: imminent danger
    phones.work()
    assert len(alerts(phones, ALEX)) == 2 and "imminent danger" in alerts(phones, ALEX)[-1]
    oncall = [b for b in phones.bodies(ONCALL) if "CRISIS" in b]
    assert len(oncall) == 2 and "imminent danger" in oncall[-1]
    [record] = escalations(svc)
    assert record.category == "imminent_danger"  # the most severe seen
    assert record.categories == "suicidal_intent,imminent_danger"
    clock.advance(svc.config["PEERLINE_VOLUNTEER_ALERT_GAP_S"] + 1)
    phones.text(SURV, "i want to die")
    phones.work()
    assert len(alerts(phones, ALEX)) == 3
    assert len(escalations(svc)) == 1 and escalations(svc)[0].seen_count == 4


def test_an_acknowledged_escalation_is_not_reopened_a_new_one_starts(phones, svc):
    phones.text(SURV, "i want to die")
    phones.work()
    eid = escalations(svc)[0].id
    phones.text(ONCALL, f"ACK {eid}")
    phones.text(SURV, "i want to die")
    phones.work()
    first, second = escalations(svc)
    assert first.acknowledged_at is not None and first.seen_count == 1
    assert second.acknowledged_at is None and second.seen_count == 1
    assert f"ACK {second.id}" in [b for b in phones.bodies(ONCALL) if "CRISIS" in b][-1]


def test_a_new_peer_on_the_conversation_is_alerted_despite_the_pacing(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    add_volunteer(svc, "Sam", SAM)
    number = phones.pair(ALEX, SURV)
    phones.text(SURV, "i want to die")
    phones.work()
    assert len(alerts(phones, ALEX)) == 1
    commands = next(n for n in phones.svc.line.numbers if n != number)
    phones.text(ALEX, "OFF", to=commands)
    phones.text(ALEX, "OFF", to=commands)  # the second OFF hands the conversation over
    phones.text(SAM, "ON")
    phones.work()
    offer = phones.received(SAM)[-1]
    phones.text(SAM, "YES", to=offer[0])
    phones.work()
    phones.text(SURV, "i want to die")  # within the gap, but Sam has not been told yet
    phones.work()
    assert len(alerts(phones, SAM)) == 1 and len(alerts(phones, ALEX)) == 1
    assert len(escalations(svc)) == 1


def test_migration_0003_keeps_existing_escalations(tmp_path):
    """An existing database at 0002 upgrades in place; old escalations count as seen once."""
    from sqlalchemy import create_engine, inspect, text

    from peerline import schema

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    schema.upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO escalations (source, category, alerted, created_at) "
                          "VALUES ('detector', 'self_harm', '', '2026-01-01 00:00:00')"))
    schema.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT seen_count FROM escalations")).scalar() == 1
    assert "gateway_holds" in inspect(engine).get_table_names()
    engine.dispose()
