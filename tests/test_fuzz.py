"""Thousands of signed, malformed webhook requests: never a 500."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import LINE, new_sid

TEXT = st.text(max_size=300)
NUMBERish = st.one_of(st.sampled_from(["+15550199001", "+15550100001", LINE, "Anonymous",
                                       "", "+", "client:alice", "+999999999999999999"]),
                      st.text(alphabet="+0123456789 ()-", max_size=25), st.text(max_size=20))
FIELDS = ("MessageSid", "SmsSid", "From", "To", "Body", "NumMedia", "MediaUrl0",
          "MessageStatus", "ErrorCode", "CallSid", "CallStatus", "Digits", "SpeechResult",
          "RecordingUrl", "TranscriptionText", "QueueTime", "Caller", "Direction")


def form_strategy():
    values = {name: TEXT for name in FIELDS}
    values.update({"From": NUMBERish, "To": NUMBERish, "Caller": NUMBERish,
                   "MessageSid": st.one_of(st.just(""), st.builds(new_sid), TEXT),
                   "NumMedia": st.one_of(st.sampled_from(["0", "1", "-1", "99", "x"]), TEXT),
                   "Digits": st.one_of(st.sampled_from(["1", "2", "9", "*", "#", "12"]), TEXT)})
    return st.fixed_dictionaries({}, optional=values).map(
        lambda d: {k: v.replace("\x00", "") for k, v in d.items()})


def webhook_paths(app):
    paths = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if "POST" in rule.methods and (rule.rule.startswith("/sms/")
                                                    or rule.rule.startswith("/voice/"))
                    and "<" not in rule.rule})
    assert "/sms/inbound" in paths
    return paths


def test_signed_garbage_never_gets_a_500(phones):
    paths = webhook_paths(phones.app)

    @settings(max_examples=400, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(path=st.sampled_from(paths), form=form_strategy())
    def run(path, form):
        response = phones.post(path, form)
        assert response.status_code < 500, (path, form, response.data[:200])

    run()


def test_unsigned_requests_to_every_webhook_get_403(phones):
    for path in webhook_paths(phones.app):
        assert phones.post(path, {"From": "+15550199001"}, signed=False).status_code == 403
