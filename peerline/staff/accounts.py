"""Dashboard accounts: who may sign in, with which role; passwords and lock-out."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from peerline.line import Line
from peerline.models import Role, User
from peerline.staff import audit

log = logging.getLogger(__name__)

ROLES = tuple(r.value for r in Role)
#: Shortest password accepted.
MIN_PASSWORD = 10
#: Wrong passwords in a row before the account locks, and for how long.
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
#: A hash to check against when the email is unknown, so both answers take as long.
_DUMMY_HASH = generate_password_hash("peerline-no-such-user", method="scrypt")


class AccountError(ValueError):
    """An account change that cannot be made (bad email, weak password, bad role...)."""


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively, without surrounding spaces."""
    return (email or "").strip().lower()


def _check(email: str, password: str, role: str) -> None:
    if "@" not in email or len(email) > 254 or " " in email:
        raise AccountError("that is not an email address")
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")


def add_user(session: Session, line: Line, email: str, password: str, role: str,
             actor: str) -> User:
    """Create a dashboard user (password hashed with scrypt); audited."""
    email = normalise_email(email)
    _check(email, password, role)
    if session.scalar(select(User).where(User.email == email)):
        raise AccountError("a user with that email already exists")
    user = User(email=email, password_hash=generate_password_hash(password, method="scrypt"),
                role=role, active=True, failed_logins=0, created_at=line.now())
    session.add(user)
    session.flush()
    audit.record(session, line, actor, "user.add", f"user #{user.id} {email}", f"role={role}")
    return user


def list_users(session: Session) -> list[User]:
    """Every dashboard user, by email."""
    return list(session.scalars(select(User).order_by(User.email)))


def deactivate_user(session: Session, line: Line, email: str, actor: str) -> User:
    """Stop a user signing in (their open sessions end at the next request); audited."""
    user = session.scalar(select(User).where(User.email == normalise_email(email))
                          .with_for_update())
    if user is None:
        raise AccountError("no such user")
    if not user.active:
        raise AccountError("that user is already deactivated")
    if user.role == Role.ADMIN.value and not session.scalar(select(User.id).where(
            User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id)
            .limit(1)):
        raise AccountError("that is the last active admin: add another admin first")
    user.active = False
    audit.record(session, line, actor, "user.deactivate", f"user #{user.id} {user.email}")
    return user


def authenticate(session: Session, line: Line, email: str, password: str, *,
                 max_failures: int = MAX_FAILURES,
                 lock_seconds: int = LOCK_SECONDS) -> User | None:
    """The active user with this email and password, or None.

    ``max_failures`` wrong passwords in a row lock the account for ``lock_seconds``;
    while locked even the right password is refused. The caller commits either way.
    """
    user = session.scalar(select(User).where(User.email == normalise_email(email))
                          .with_for_update())
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    now = line.now()
    if user.locked_until is not None and user.locked_until > now:
        log.warning("event=login_locked user=%s", user.id)
        return None
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(seconds=lock_seconds)
            user.failed_logins = 0
            log.warning("event=login_lockout user=%s", user.id)
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user
