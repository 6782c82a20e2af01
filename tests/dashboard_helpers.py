"""Shared steps for the dashboard tests: users, CSRF tokens, signing in."""

from __future__ import annotations

import re
from typing import Any

from peerline.staff import accounts

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def make_user(svc: Any, email: str, role: str, password: str = PASSWORD) -> int:
    """A dashboard user made through the domain, as the CLI makes them."""
    with svc.sessions.begin() as session:
        return accounts.add_user(session, svc.line, email, password, role, "test").id


def token(client: Any, path: str = "/login") -> str:
    """The CSRF token on the page at ``path``."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, "no csrf token on " + path
    return match.group(1)


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the form; returns the response."""
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token(client)})


def signed_in(app: Any, svc: Any, role: str, email: str | None = None) -> Any:
    """A test client signed in as a new user with ``role``."""
    email = email or f"{role}@example.org"
    make_user(svc, email, role)
    client = app.test_client()
    response = sign_in(client, email)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    return client


def post(client: Any, path: str, data: dict[str, Any] | None = None,
         page: str = "/dashboard") -> Any:
    """A form POST with the CSRF token taken from ``page``."""
    return client.post(path, data={**(data or {}), "csrf_token": token(client, page)})
