"""Who is looking at a page (anonymous, or signed in through a session cookie), where the server
is reached from, and the CSRF checks every form goes through."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Depends, Request
from typing import Annotated

from packyard.api.deps import get_registry, public_base_url
from packyard.auth import Identity
from packyard.errors import Forbidden, Unauthorized
from packyard.registry import Registry
from packyard.web import sessions

SESSION_COOKIE = "packyard_session"
SIGNIN_COOKIE = "packyard_signin"  # the sign-in form's CSRF token before there is a session (double submit)

CSRF_REFUSED = "This form's security token is missing or out of date (or the request came from another site): reload the page and submit it again."


@dataclass
class Visitor:
    registry: Registry
    signed_in: sessions.SignedIn | None
    base_url: str  # the server's public URL, without a slash at the end
    https: bool

    @property
    def identity(self) -> Identity | None:
        """A signed-in user holds what a password sign-in grants (as for `gem signin`): every
        non-admin scope for themselves (`admin` for an admin); ownership still limits changes."""
        return self.registry.password_identity(self.signed_in.user) if self.signed_in else None

    @property
    def csrf_token(self) -> str | None:
        return self.signed_in.csrf_token if self.signed_in else None

    @property
    def is_admin(self) -> bool:
        return bool(self.signed_in and self.signed_in.user.is_admin)

    def require_identity(self) -> Identity:
        identity = self.identity
        if identity is None:
            raise Unauthorized("Sign in first (your session may have ended).")
        return identity

    def require_admin(self) -> Identity:
        identity = self.require_identity()
        if not identity.is_admin:
            raise Forbidden("Only an admin user may see this page.")
        return identity


def current_visitor(request: Request, registry: Annotated[Registry, Depends(get_registry)]) -> Visitor:
    base, https = public_base_url(request, registry)
    visitor = Visitor(registry, sessions.lookup(registry, request.cookies.get(SESSION_COOKIE)), base, https)
    request.state.visitor = visitor  # for the error page's navigation
    return visitor


VisitorDep = Annotated[Visitor, Depends(current_visitor)]


def check_origin(request: Request, visitor: Visitor) -> None:
    """A browser sends `Origin` with every form POST; one from elsewhere is a cross-site request."""
    origin = request.headers.get("origin")
    if origin is None:
        return  # an older browser: the token alone decides
    expected = urlsplit(visitor.base_url)
    if origin.rstrip("/") != f"{expected.scheme}://{expected.netloc}":
        raise Forbidden(CSRF_REFUSED)


def check_csrf(request: Request, visitor: Visitor, submitted: str, expected: str | None) -> None:
    check_origin(request, visitor)
    if not submitted or not expected or not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise Forbidden(CSRF_REFUSED)


def check_session_form(request: Request, visitor: Visitor, submitted: str) -> Identity:
    """A signed-in user's form: the session's CSRF token must come back; returns who acts."""
    identity = visitor.require_identity()
    check_csrf(request, visitor, submitted, visitor.csrf_token)
    return identity
