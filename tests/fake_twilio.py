"""A local fake of Twilio's REST API for the real ``twilio`` client, with fault injection.

It serves what :class:`peerline.telephony.twilio_gateway.TwilioGateway` calls:

- ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (To, From, Body, StatusCallback)
  → 201 and a message resource (``status`` ``queued``);
- ``GET  /2010-04-01/Accounts/<sid>/Messages.json`` with ``To``/``From``/``DateSent>``
  filters, newest first, paged the way Twilio pages (``PageSize``, ``Page``,
  ``next_page_uri``);
- ``POST …/Calls.json`` and ``POST …/Calls/<sid>.json``; ``GET …/Calls/<sid>.json`` (the
  call's ``status``; 404 for a sid not in ``calls``; 500 while ``call_fetch_faults`` > 0,
  each such answer counting it down); ``POST …/Conferences/<sid>.json``
  and ``POST …/Conferences/<sid>/Participants/<call sid>.json`` (``conference_updates``);
- ``DELETE …/Messages/<sid>.json`` (204; 404 for an unknown or deleted sid; 409 with
  error 20009 while the message is still being delivered, i.e. before ``sent_after_s``),
  ``DELETE …/Recordings/<sid>.json`` and ``DELETE …/Transcriptions/<sid>.json`` (204, or
  404 unless the test created them with ``add_recording`` / ``add_transcription``).
  Every DELETE is noted in ``deletions`` as (kind, sid, HTTP status); deleted messages
  leave the message list (``delivered`` still counts them: it is the acceptance log).

Requests must carry HTTP basic auth (account sid : auth token). Faults are chosen from a
seeded random stream, so a run is repeatable:

=================  =====================================================================
``429``            answer 429 Too Many Requests with ``Retry-After``
``500``            answer 500
``hang``           hold the request past the client's time-out, accept nothing
``accept_500``     accept the message, then answer 500 (the client does not hear it)
``accept_drop``    accept the message, then drop the connection
``accept_hang``    accept the message, then hold the request past the client's time-out
=================  =====================================================================

Permanent errors are per recipient (``permanent={"+1555…": 21610}``). Every accepted
message is recorded, so tests count deliveries per recipient and check their order.

Run it alone (for ``bench/chaos``): ``python -m tests.fake_twilio --port 8099``.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

API = "/2010-04-01/Accounts/"
TRANSIENT_FAULTS = ("429", "500", "hang", "accept_500", "accept_drop", "accept_hang")
PERMANENT_MESSAGES = {
    21610: "Attempt to send to unsubscribed recipient",
    21211: "The 'To' number is not a valid phone number.",
    21606: "The 'From' phone number provided is not a valid, message-capable Twilio "
           "phone number for this destination.",
}


class _QuietHandler(WSGIRequestHandler):
    """No access log: request lines carry phone numbers in their query strings."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass

    def log(self, *args: object, **kwargs: object) -> None:
        pass


def _rfc2822(when: float) -> str:
    return format_datetime(datetime.fromtimestamp(when, UTC), usegmt=True)


@dataclass
class Sent:
    """One message the fake accepted."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    created: float
    fault: str | None = None  # the fault that hid this acceptance from the client
    inbound: bool = False  # a text a phone sent to the line (``add_inbound``)
    deleted: bool = False


@dataclass
class FakeTwilio:
    """The fake server; ``start()`` it, point ``TWILIO_API_BASE_URL`` at ``url``."""

    account_sid: str = "AC" + "f" * 32
    auth_token: str = "fake-auth-token"
    seed: int = 1
    fault_rate: float = 0.0
    faults: tuple[str, ...] = ("429", "500")
    permanent: dict[str, int] = field(default_factory=dict)
    retry_after: str = "1"
    hang_s: float = 2.0
    slow_s: float = 0.0       # every accepted send holds its answer this long
    sent_after_s: float = 0.0  # a message turns "sent" (has date_sent) after this long
    fault_lists: bool = False  # faults on GET /Messages.json too

    def __post_init__(self) -> None:
        self.messages: list[Sent] = []
        self.calls: list[dict[str, str]] = []
        #: Conference updates: (conference sid, participant call sid or None, the form).
        #: ``in_conference``: when a set, participants not in it answer 404 (they left).
        self.in_conference: set[str] | None = None
        self.conference_updates: list[tuple[str, str | None, dict[str, str]]] = []
        self.recordings: set[str] = set()
        self.call_fetch_faults = 0  # the next this many GET Calls/<sid>.json answer 500
        self.transcriptions: set[str] = set()
        self.deletions: list[tuple[str, str, int]] = []  # (kind, sid, HTTP status)
        self.requests: list[tuple[str, str, str]] = []  # (method, kind, outcome)
        self.in_flight: dict[int, Sent | None] = {}  # client port -> message being sent
        self.peak_in_flight = 0  # most sends held at once (``slow_s``): were they parallel?
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sids = itertools.count(1)
        self._server = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeTwilio:
        """Serve in a daemon thread."""
        self._server = make_server(host, port, self.wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-twilio",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging requests are released."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for ``TWILIO_API_BASE_URL``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    # --- what tests read ----------------------------------------------------------------

    def delivered(self, to: str | None = None) -> list[Sent]:
        """Accepted messages (to one recipient), in acceptance order."""
        with self._lock:
            return [m for m in self.messages if to is None or m.to == to]

    def bodies(self, to: str) -> list[str]:
        """Bodies accepted for ``to``, in order."""
        return [m.body for m in self.delivered(to)]

    def add_inbound(self, sid: str, from_: str, to: str, body: str) -> None:
        """Know a text a phone sent to the line (Twilio keeps those too)."""
        with self._lock:
            self.messages.append(Sent(sid=sid, to=to, from_=from_, body=body,
                                      status_callback=None, created=time.time(),
                                      inbound=True))

    def add_recording(self, sid: str) -> None:
        """Know a call recording (a voicemail)."""
        with self._lock:
            self.recordings.add(sid)

    def add_transcription(self, sid: str) -> None:
        """Know a recording's transcription."""
        with self._lock:
            self.transcriptions.add(sid)

    def deleted(self, kind: str | None = None) -> list[str]:
        """Sids that were deleted (204), in order."""
        with self._lock:
            return [sid for k, sid, status in self.deletions
                    if status == 204 and (kind is None or k == kind)]

    def faults_seen(self) -> dict[str, int]:
        """How many times each outcome was served."""
        counts: dict[str, int] = {}
        with self._lock:
            for _, _, outcome in self.requests:
                counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def configure(self, **values: object) -> None:
        """Change fault settings while running."""
        with self._lock:
            for name, value in values.items():
                if not hasattr(self, name):
                    raise AttributeError(name)
                setattr(self, name, value)

    # --- the WSGI app -------------------------------------------------------------------

    def wsgi(self, environ: dict, start_response: object) -> object:  # type: ignore[type-arg]
        """The WSGI entry point."""
        request = Request(environ)
        response = self._dispatch(request, environ)
        return response(environ, start_response)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    @staticmethod
    def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None
               ) -> Response:
        payload = {"code": code, "message": message, "status": status,
                   "more_info": f"https://www.twilio.com/docs/errors/{code}"}
        return Response(json.dumps(payload), status=status, headers=headers or {},
                        content_type="application/json")

    def _dispatch(self, request: Request, environ: dict) -> Response:  # type: ignore[type-arg]
        path = request.path
        if not path.startswith(API):
            return self._error(404, 20404, "The requested resource was not found")
        if not self._authorised(request):
            self._record(request.method, "auth", "401")
            return self._error(401, 20003, "Authenticate")
        rest = path[len(API):]
        account, _, resource = rest.partition("/")
        if account != self.account_sid:
            return self._error(404, 20404, "The requested resource was not found")
        if resource == "Messages.json" and request.method == "POST":
            return self._create_message(request, environ)
        if resource == "Messages.json" and request.method == "GET":
            return self._list_messages(request)
        if resource == "Calls.json" and request.method == "POST":
            return self._create_call(request)
        if resource.startswith("Calls/") and resource.endswith(".json") and \
                request.method == "POST":
            return self._update_call(request, resource[len("Calls/"):-len(".json")])
        if resource.startswith("Calls/") and resource.endswith(".json") and \
                request.method == "GET":
            return self._fetch_call(resource[len("Calls/"):-len(".json")])
        if resource.startswith("Conferences/") and resource.endswith(".json") and \
                request.method == "POST":
            return self._update_conference(request, resource[len("Conferences/"):-len(".json")])
        if request.method == "DELETE" and resource.endswith(".json"):
            collection, _, sid = resource[:-len(".json")].partition("/")
            if collection in ("Messages", "Recordings", "Transcriptions") and sid:
                return self._delete(collection, sid)
        return self._error(404, 20404, "The requested resource was not found")

    def _pick_fault(self) -> str | None:
        with self._lock:
            roll = self._rng.random()
            choice = self._rng.choice(self.faults) if self.faults else None
            return choice if roll < self.fault_rate else None

    def _record(self, method: str, kind: str, outcome: str) -> None:
        with self._lock:
            self.requests.append((method, kind, outcome))

    def _hold(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # --- messages -----------------------------------------------------------------------

    def _resource(self, m: Sent) -> dict[str, object]:
        now = time.time()
        sent = now - m.created >= self.sent_after_s
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": m.body,
            "date_created": _rfc2822(m.created), "date_updated": _rfc2822(now),
            "date_sent": _rfc2822(m.created + self.sent_after_s) if sent else None,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": m.from_, "messaging_service_sid": None, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": m.sid,
            "status": "sent" if sent else "queued", "to": m.to,
            "subresource_uris": {"media": f"{API}{self.account_sid}/Messages/{m.sid}/Media.json"},
            "uri": f"{API}{self.account_sid}/Messages/{m.sid}.json",
        }

    def _create_message(self, request: Request, environ: dict) -> Response:  # type: ignore[type-arg]
        form = request.form
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to or not from_ or "Body" not in form:
            self._record("POST", "message", "400")
            return self._error(400, 21604, "A 'To' phone number is required.")
        if to in self.permanent:
            code = self.permanent[to]
            self._record("POST", "message", str(code))
            return self._error(400, code, PERMANENT_MESSAGES.get(code, "Permanent error"))
        fault = self._pick_fault()
        if fault == "429":
            self._record("POST", "message", "429")
            return self._error(429, 20429, "Too Many Requests",
                               headers={"Retry-After": self.retry_after})
        if fault == "500":
            self._record("POST", "message", "500")
            return self._error(500, 20500, "Internal Server Error")
        if fault == "hang":
            self._record("POST", "message", "hang")
            self._hold(self.hang_s)
            return self._error(503, 20503, "Service Unavailable")
        with self._lock:
            # "SMa…": never equal to a test's own (decimal) inbound sid.
            message = Sent(sid=f"SMa{next(self._sids):031x}", to=to, from_=from_, body=body,
                           status_callback=form.get("StatusCallback"), created=time.time(),
                           fault=fault if fault and fault.startswith("accept") else None)
            self.messages.append(message)
        port = environ.get("REMOTE_PORT")
        if self.slow_s:
            with self._lock:
                self.in_flight[int(port or 0)] = message
                self.peak_in_flight = max(self.peak_in_flight, len(self.in_flight))
            self._hold(self.slow_s)
            with self._lock:
                self.in_flight.pop(int(port or 0), None)
        if fault == "accept_500":
            self._record("POST", "message", "accept_500")
            return self._error(500, 20500, "Internal Server Error")
        if fault == "accept_hang":
            self._record("POST", "message", "accept_hang")
            self._hold(self.hang_s)
            return self._error(503, 20503, "Service Unavailable")
        if fault == "accept_drop":
            self._record("POST", "message", "accept_drop")
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return self._error(500, 20500, "dropped")
        self._record("POST", "message", "201")
        return Response(json.dumps(self._resource(message)), status=201,
                        content_type="application/json")

    def _list_messages(self, request: Request) -> Response:
        args = request.args
        if self.fault_lists:
            fault = self._pick_fault()
            if fault == "429":
                self._record("GET", "list", "429")
                return self._error(429, 20429, "Too Many Requests",
                                   headers={"Retry-After": self.retry_after})
            if fault in ("500", "accept_500", "accept_drop"):
                self._record("GET", "list", "500")
                return self._error(500, 20500, "Internal Server Error")
            if fault in ("hang", "accept_hang"):
                self._record("GET", "list", "hang")
                self._hold(self.hang_s)
                return self._error(503, 20503, "Service Unavailable")
        self._record("GET", "list", "200")
        with self._lock:
            found = [self._resource(m) for m in reversed(self.messages)
                     if not m.deleted and not m.inbound]
        if args.get("To"):
            found = [m for m in found if m["to"] == args["To"]]
        if args.get("From"):
            found = [m for m in found if m["from"] == args["From"]]
        after = args.get("DateSent>")
        if after:
            # Twilio filters on the day sent: a message not sent yet has no date_sent.
            day = after[:10]
            found = [m for m in found if m["date_sent"] and _day(m["date_sent"]) >= day]
        size = max(1, min(int(args.get("PageSize") or 50), 1000))
        page = int(args.get("Page") or 0)
        chunk = found[page * size:(page + 1) * size]
        base = f"{API}{self.account_sid}/Messages.json"
        query = {k: v for k, v in args.items() if k not in ("Page", "PageToken")}

        def uri(number: int) -> str:
            return base + "?" + urlencode({**query, "PageSize": size, "Page": number})

        more = (page + 1) * size < len(found)
        payload = {
            "messages": chunk, "page": page, "page_size": size, "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0), "uri": uri(page),
            "first_page_uri": uri(0), "previous_page_uri": uri(page - 1) if page else None,
            "next_page_uri": (uri(page + 1) + f"&PageToken=PA{page + 1}") if more else None,
        }
        return Response(json.dumps(payload), status=200, content_type="application/json")

    def _delete(self, collection: str, sid: str) -> Response:
        kind = {"Messages": "message", "Recordings": "recording",
                "Transcriptions": "transcription"}[collection]
        with self._lock:
            if kind == "message":
                found = next((m for m in self.messages if m.sid == sid and not m.deleted),
                             None)
                if found is not None and not found.inbound and \
                        time.time() - found.created < self.sent_after_s:
                    self.deletions.append((kind, sid, 409))
                    return self._error(409, 20009, "Cannot delete this resource before it "
                                                   "is complete")
                if found is not None:
                    found.deleted = True
            else:
                store = self.recordings if kind == "recording" else self.transcriptions
                found = sid if sid in store else None
                store.discard(sid)
            status = 204 if found is not None else 404
            self.deletions.append((kind, sid, status))
        self._record("DELETE", kind, str(status))
        if status == 404:
            return self._error(404, 20404, "The requested resource was not found")
        return Response("", status=204)

    # --- calls --------------------------------------------------------------------------

    def _create_call(self, request: Request) -> Response:
        form = request.form
        if not form.get("To") or not form.get("From") or not (form.get("Url")
                                                             or form.get("Twiml")):
            self._record("POST", "call", "400")
            return self._error(400, 21205, "Url parameter is required.")
        if form["To"] in self.permanent:
            self._record("POST", "call", "400")
            return self._error(400, self.permanent[form["To"]], "Permanent error")
        fault = self._pick_fault()
        if fault in ("429", "500"):
            self._record("POST", "call", fault)
            return self._error(int(fault), 20000 + int(fault), "Try again",
                               headers={"Retry-After": self.retry_after})
        with self._lock:
            call = {"sid": f"CA{next(self._sids):032x}", "to": form["To"],
                    "from": form["From"], "url": form.get("Url", ""), "status": "queued",
                    "status_callback": form.get("StatusCallback", "")}
            self.calls.append(call)
        self._record("POST", "call", "201")
        return Response(json.dumps(self._call_resource(call)), status=201,
                        content_type="application/json")

    def _update_call(self, request: Request, sid: str) -> Response:
        with self._lock:
            call = next((c for c in self.calls if c["sid"] == sid), None)
            if call is None:
                return self._error(404, 20404, "The requested resource was not found")
            for name in ("Url", "Twiml", "Status"):
                if request.form.get(name):
                    call[name.lower()] = request.form[name]
        self._record("POST", "call_update", "200")
        return Response(json.dumps(self._call_resource(call)), status=200,
                        content_type="application/json")

    def _fetch_call(self, sid: str) -> Response:
        """``GET Calls/<CA>.json``: the call's resource (its ``status``), 404, or a fault."""
        with self._lock:
            if self.call_fetch_faults > 0:
                self.call_fetch_faults -= 1
                fault = True
            else:
                fault = False
            call = next((c for c in self.calls if c["sid"] == sid), None)
        if fault:
            self._record("GET", "call", "500")
            return self._error(500, 20500, "Internal Server Error")
        if call is None:
            self._record("GET", "call", "404")
            return self._error(404, 20404, "The requested resource was not found")
        self._record("GET", "call", "200")
        return Response(json.dumps(self._call_resource(call)), status=200,
                        content_type="application/json")

    def _update_conference(self, request: Request, rest: str) -> Response:
        """``POST Conferences/<CF>.json`` (Status) and ``…/Participants/<CA>.json`` (Muted,
        Hold): noted in ``conference_updates``; 404 for a participant not ``in_conference``."""
        conference, _, participant = rest.partition("/Participants/")
        form = {k: request.form[k] for k in request.form}
        with self._lock:
            if participant and self.in_conference is not None and \
                    participant not in self.in_conference:
                self._record("POST", "participant", "404")
                return self._error(404, 20404, "The requested resource was not found")
            self.conference_updates.append((conference, participant or None, form))
        now = _rfc2822(time.time())
        if participant:
            self._record("POST", "participant", "200")
            body: dict[str, object] = {
                "account_sid": self.account_sid, "call_sid": participant,
                "conference_sid": conference, "muted": form.get("Muted") == "true",
                "hold": form.get("Hold") == "true", "status": "connected",
                "date_created": now, "date_updated": now,
                "uri": f"{API}{self.account_sid}/Conferences/{conference}/Participants/"
                       f"{participant}.json"}
        else:
            self._record("POST", "conference", "200")
            body = {"account_sid": self.account_sid, "sid": conference,
                    "status": form.get("Status", "in-progress"), "friendly_name": "",
                    "date_created": now, "date_updated": now,
                    "uri": f"{API}{self.account_sid}/Conferences/{conference}.json"}
        return Response(json.dumps(body), status=200, content_type="application/json")

    def _call_resource(self, call: dict[str, str]) -> dict[str, object]:
        now = _rfc2822(time.time())
        return {"sid": call["sid"], "account_sid": self.account_sid, "to": call["to"],
                "from": call["from"], "status": call["status"], "direction": "outbound-api",
                "date_created": now, "date_updated": now, "api_version": "2010-04-01",
                "uri": f"{API}{self.account_sid}/Calls/{call['sid']}.json"}


def _day(rfc2822: str) -> str:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(rfc2822).strftime("%Y-%m-%d")


def main() -> None:
    """Serve the fake in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--account-sid", default="AC" + "f" * 32)
    parser.add_argument("--auth-token", default="fake-auth-token")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", default="429,500")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    fake = FakeTwilio(args.account_sid, args.auth_token, seed=args.seed,
                      fault_rate=args.fault_rate, faults=tuple(args.faults.split(",")))
    fake.start(port=args.port)
    print(f"fake Twilio at {fake.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
