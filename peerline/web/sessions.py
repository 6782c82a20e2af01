"""Flask's signed-cookie sessions, opened without building a serializer when there is
no cookie (every Twilio webhook: Flask opens a session for each request, and building
its ``URLSafeTimedSerializer`` was ~90 Python calls of a text's work)."""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    """``SecureCookieSessionInterface``, the same in every outcome: a request with no
    cookies gets a new empty session (as Flask's gives it) before the signing serializer
    is built; one with cookies is opened by Flask's own code."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The request's session: new and empty without cookies, else Flask's."""
        if app.secret_key and not request.environ.get("HTTP_COOKIE"):
            return self.session_class()  # (no Cookie header: not even the cookies parsed)
        return super().open_session(app, request)
