"""Flask's cookie sessions, opened without a serializer for a cookieless request (every
Twilio webhook), and exactly as Flask opens them otherwise (``web/sessions``)."""

from __future__ import annotations

from flask import session
from flask.sessions import SecureCookieSessionInterface

from peerline.web.sessions import CookieSessions


def test_a_cookieless_request_builds_no_serializer_a_cookie_is_flasks(app, monkeypatch):
    assert isinstance(app.session_interface, CookieSessions)
    built: list[int] = []
    real = SecureCookieSessionInterface.get_signing_serializer

    def counted(self, app_):  # noqa: ANN001, ANN202
        built.append(1)
        return real(self, app_)

    monkeypatch.setattr(SecureCookieSessionInterface, "get_signing_serializer", counted)
    with app.test_request_context("/sms/inbound", method="POST"):
        opened = app.session_interface.open_session(app, app.request_class(
            {"REQUEST_METHOD": "POST", "PATH_INFO": "/sms/inbound"}))
        assert opened is not None and dict(opened) == {} and not opened.modified
    assert built == []

    @app.get("/_t/set")
    def set_value() -> str:
        session["who"] = "coordinator"
        return "ok"

    @app.get("/_t/get")
    def get_value() -> str:
        return str(session.get("who"))

    client = app.test_client()
    client.get("/_t/set")
    assert built  # saving a session signs it with Flask's serializer
    built.clear()
    assert client.get("/_t/get").get_data(as_text=True) == "coordinator"  # read back
    assert built  # a request with the cookie is opened by Flask's own code
    name = app.config["SESSION_COOKIE_NAME"]
    client.set_cookie(name, "tampered.value.sig")
    assert client.get("/_t/get").get_data(as_text=True) == "None"  # a bad signature
