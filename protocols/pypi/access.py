"""Read access for the PyPI handlers: authenticate only when the answer depends on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from .documents import ECOSYSTEM, PackageState
from .wire import Request

if TYPE_CHECKING:
    from packyard.auth import Identity
    from packyard.registry import Registry


async def identify(registry: Registry, request: Request) -> Identity | None:
    """The caller's identity, or None without credentials; raises Unauthorized for bad ones."""
    header = request.headers.get("authorization")
    if not header:
        return None
    return await run_in_threadpool(registry.authenticate, header)


async def require_read(registry: Registry, request: Request, state: PackageState | None) -> Identity | None:
    """Raise Unauthorized/Forbidden unless the caller may read ``state`` (None: an unknown name).

    Public packages on a public registry skip authentication entirely: that keeps the hot
    path free of database work.
    """
    restricted = registry.settings.private or (state is not None and state.is_private)
    if not restricted:
        return None
    identity = await identify(registry, request)
    registry.read_access(identity, ECOSYSTEM, state)  # type: ignore[arg-type]  # duck-typed Package
    return identity
