"""Server-side sessions of the web interface: the cookie holds a random secret, the `web_session`
table its SHA-256, the user and the session's CSRF token. Signing out deletes the row, so the
session ends on every worker and replica at once; an expired row is ignored and swept at the
next sign-in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import delete, select

from packyard.auth.secrets import hash_token
from packyard.models import User, WebSession, limits

if TYPE_CHECKING:
    from packyard.registry import Registry

LIFETIME = timedelta(hours=12)


@dataclass
class SignedIn:
    user: User
    csrf_token: str


def start(registry: Registry, user: User) -> str:
    """A new session for `user`; returns the cookie's secret."""
    secret = secrets.token_urlsafe(32)
    now = registry.clock.now()
    with registry.db.write() as session:
        session.exec(delete(WebSession).where(WebSession.expires_at <= now))
        session.add(WebSession(secret_hash=hash_token(secret), user_id=user.id, csrf_token=secrets.token_urlsafe(32), created_at=now, expires_at=now + LIFETIME))
    return secret


def lookup(registry: Registry, secret: str | None) -> SignedIn | None:
    """The live session the cookie names, or None (no cookie, unknown, expired or ended)."""
    if not secret or len(secret) > 100 or limits.unstorable_reason(secret) is not None:
        return None
    with registry.db.read() as session:
        row = session.exec(
            select(WebSession, User).join(User, User.id == WebSession.user_id).where(WebSession.secret_hash == hash_token(secret))
        ).first()
    if row is None or row[0].expires_at <= registry.clock.now():
        return None
    return SignedIn(user=row[1], csrf_token=row[0].csrf_token)


def end(registry: Registry, secret: str) -> None:
    with registry.db.write() as session:
        session.exec(delete(WebSession).where(WebSession.secret_hash == hash_token(secret)))
