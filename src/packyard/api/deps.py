"""FastAPI dependencies: the registry, the caller's identity, the caller's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from packyard.auth import Identity
from packyard.errors import Forbidden, Unauthorized
from packyard.registry import Registry


def get_registry(request: Request) -> Registry:
    return request.app.state.registry


def remote_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def public_base_url(request: Request, registry: Registry) -> tuple[str, bool]:
    """The server's public URL (no slash at the end) and whether it is https: PACKYARD_BASE_URL,
    else the Host header with the scheme the request came in by (`X-Forwarded-Proto` behind a proxy)."""
    configured = registry.settings.base_url
    if configured:
        base = configured.rstrip("/")
        return base, base.startswith("https://")
    https = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").split(",")[0].strip() == "https"
    host = request.headers.get("host") or "127.0.0.1"
    return f"{'https' if https else 'http'}://{host}", https


def require_identity(request: Request, registry: Annotated[Registry, Depends(get_registry)]) -> Identity:
    identity = registry.authenticate(request.headers.get("authorization"))
    if identity is None:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>' (create one with 'packyard token create').")
    return identity


def require_token_manager(request: Request, registry: Annotated[Registry, Depends(get_registry)]) -> Identity:
    """Like require_identity, but a user may also sign in with Basic `<user>:<password>`."""
    identity = registry.authenticate(request.headers.get("authorization"), allow_password=True)
    if identity is None:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>', or Basic '<user>:<password>'.")
    return identity


def require_admin(identity: Annotated[Identity, Depends(require_identity)]) -> Identity:
    if not identity.is_admin:
        raise Forbidden("This needs a token with the 'admin' scope.")
    return identity


RegistryDep = Annotated[Registry, Depends(get_registry)]
IdentityDep = Annotated[Identity, Depends(require_identity)]
TokenManagerDep = Annotated[Identity, Depends(require_token_manager)]
AdminDep = Annotated[Identity, Depends(require_admin)]
RemoteAddrDep = Annotated[str | None, Depends(remote_addr)]
