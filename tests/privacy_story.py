"""A whole story for the privacy tests: a voicemail with a transcript, a survivor's texts
with a crisis, pairing, relays both ways, alerts, an offer preview, a spooled text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis
from sqlalchemy import Engine, inspect, text

from peerline.app import create_app
from peerline.privacy.vault import PhoneVault

from .helpers import Phones, new_sid
from .test_text_line import ALEX, ONCALL, SURV, SURV2, add_volunteer
from .test_voice import Survivor as Caller

DEAD_DB = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=1"

#: Words each step says, and a fragment of each that must never be readable at rest.
FIRST = "hi, my stepfather keeps texting me about the holidays"
CRISIS = "i cant do this anymore, i want to kill myself tonight"
PEER_REPLY = "I hear you. Are you somewhere safe right now?"
SURVIVOR_REPLY = "locked in the bathroom, he is asleep"
VOICEMAIL = "please call me back about the appointment on tuesday"
SPOOLED = "the phone battery is dying, orchard street shelter"
PENDING = "text me when you wake up, sunflower"
PENDING_RELAY = "i will text from my sisters phone, bluebird"
OTHER_FIRST = "my landlord keeps threatening me"
OTHER_PEER = "that sounds frightening, tell me about the lease"
SURVIVOR_FRAGMENTS = ("stepfather", "the holidays", "kill myself", "do this anymore",
                      "somewhere safe", "bathroom", "appointment on tuesday", "orchard street",
                      "sunflower", "bluebird")
OTHER_FRAGMENTS = ("landlord", "the lease")
PEOPLE = (SURV, SURV2, ALEX, ONCALL)
REC_SID = "RE" + "7" * 32
REC_URL = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/" + REC_SID
TR_SID = "TR" + "7" * 32


@dataclass
class Story:
    """What the story left behind: the sids involved, by whom."""

    inbound: dict[str, list[str]] = field(default_factory=dict)  # phone -> MessageSids
    line_for: dict[str, str] = field(default_factory=dict)  # survivor -> ALEX's line number
    call_id: int = 0
    spooled_sid: str = ""


Inbox = Callable[[str], list[tuple[str, str]]]


def number_forms(number: str) -> list[str]:
    """A phone number as a dump might show it: E.164, national, last seven digits."""
    return [number, number[2:], number[-7:]]


def send(phones: Phones, story: Story, from_: str, body: str, to: str | None = None,
         on_sid: Callable[[str, str, str, str], None] | None = None) -> list[str]:
    """Text the line; note the sid; return the TwiML replies."""
    sid = new_sid()
    story.inbound.setdefault(from_, []).append(sid)
    to = to or "+15550000001"
    if on_sid is not None:
        on_sid(sid, from_, to, body)
    return phones.replies(phones.text(from_, body, to=to, sid=sid))


def voicemail(phones: Phones, story: Story) -> None:
    """SURV calls with nobody on shift and leaves a transcribed voicemail."""
    caller = Caller(phones, SURV)
    caller.call()
    assert caller.choose("1").has("Record")
    story.call_id = caller.call_id
    caller.doc(f"/voice/recorded?call={story.call_id}", RecordingUrl=REC_URL,
               RecordingSid=REC_SID, RecordingDuration="14")
    caller.status("completed")
    response = caller.post(f"/voice/transcription?call={story.call_id}",
                           TranscriptionText=VOICEMAIL, TranscriptionStatus="completed",
                           RecordingSid=REC_SID, TranscriptionSid=TR_SID)
    assert response.status_code == 204
    phones.work()


def texts(phones: Phones, story: Story, inbox: Inbox, on_sid=None) -> None:  # noqa: ANN001
    """Pairing with an offer preview, a crisis with alerts, relays both ways."""
    send(phones, story, ALEX, "ON", on_sid=on_sid)
    send(phones, story, SURV, FIRST, on_sid=on_sid)
    phones.work()
    number, offer = inbox(ALEX)[-1]
    assert "stepfather" in offer  # the preview
    story.line_for[SURV] = number
    send(phones, story, ALEX, "YES", to=number, on_sid=on_sid)
    phones.work()
    assert any("988" in r for r in send(phones, story, SURV, CRISIS, on_sid=on_sid))
    phones.work()
    send(phones, story, ALEX, PEER_REPLY, to=number, on_sid=on_sid)
    send(phones, story, SURV, SURVIVOR_REPLY, on_sid=on_sid)
    phones.work()
    bodies = [b for _, b in inbox(ALEX)]
    assert any("CRISIS ALERT" in b for b in bodies) and SURVIVOR_REPLY in bodies
    assert PEER_REPLY in [b for _, b in inbox(SURV)]
    assert any("CRISIS" in b for _, b in inbox(ONCALL))


def other_survivor(phones: Phones, story: Story, inbox: Inbox, on_sid=None) -> None:  # noqa: ANN001
    """SURV2 talks with ALEX on another line number."""
    send(phones, story, SURV2, OTHER_FIRST, on_sid=on_sid)
    phones.work()
    number, _ = inbox(ALEX)[-1]
    story.line_for[SURV2] = number
    send(phones, story, ALEX, "YES", to=number, on_sid=on_sid)
    phones.work()
    send(phones, story, ALEX, OTHER_PEER, to=number, on_sid=on_sid)
    phones.work()
    assert OTHER_PEER in [b for _, b in inbox(SURV2)]


def spool_a_text(settings: dict, clock, story: Story, on_sid=None,  # noqa: ANN001
                 sender: str = SURV, body: str = SPOOLED, to: str | None = None) -> None:
    """SURV texts while the database is down: the text waits in the Redis spool."""
    down = create_app({**settings, "DATABASE_URL": DEAD_DB}, clock=clock)
    with down.app_context():
        send(Phones(down, down.test_client()), story, sender, body, to=to, on_sid=on_sid)
    story.spooled_sid = story.inbound[sender][-1]
    down.extensions["peerline"].engine.dispose()
    from peerline.delivery import spool

    spool._pending.clear()  # as if another web process had spooled it


def whole_story(phones: Phones, svc, settings, clock, inbox: Inbox,  # noqa: ANN001
                on_sid=None) -> Story:  # noqa: ANN001
    """Everything above, in order; the spooled text is left in the spool."""
    story = Story()
    add_volunteer(svc, "Alex", ALEX)
    voicemail(phones, story)
    texts(phones, story, inbox, on_sid)
    other_survivor(phones, story, inbox, on_sid)
    spool_a_text(settings, clock, story, on_sid)
    return story


# --- reading what is at rest -----------------------------------------------------------

def dump(engine: Engine) -> dict[str, list[str]]:
    """Every text value of every table, read with raw SQL (what a backup holds)."""
    values: dict[str, list[str]] = {}
    tables = inspect(engine).get_table_names()
    with engine.connect() as conn:
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                values.setdefault(table, []).extend(str(v) for v in row if v is not None)
    return values


def redis_values(redis: Redis) -> list[bytes]:
    """Every value in Redis (lists, hashes, strings, sets), decompressed where RQ zips."""
    import zlib

    seen: list[bytes] = []
    for key in redis.scan_iter("*"):
        kind = redis.type(key)
        if kind == b"list":
            seen.extend(redis.lrange(key, 0, -1))
        elif kind == b"hash":
            seen.extend(redis.hvals(key))
        elif kind == b"string":
            seen.append(redis.get(key))
        elif kind == b"zset":
            seen.extend(m for m, _ in redis.zrange(key, 0, -1, withscores=True))
        elif kind == b"set":
            seen.extend(redis.smembers(key))
    out = []
    for value in seen:
        try:
            out.append(zlib.decompress(value))
        except zlib.error:
            out.append(value)
    return out


def opened(values: list[str], vault: PhoneVault) -> list[str]:
    """The values with every token decrypted: what someone holding the keys would read."""
    out = []
    for value in values:
        try:
            out.append(vault.decrypt(value))
        except Exception:  # noqa: BLE001 - not a token: as it is
            out.append(value)
    return out
