"""Read access for the PyPI handlers: find the stored document, authenticate only when the answer
depends on it (a public document of a public registry needs neither credentials nor the database)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from packyard.documents.store import NeedsIO
from packyard.documents.stored import StoredDocument

from packyard_pypi import documents
from packyard_pypi.documents import ECOSYSTEM
from packyard_pypi.wire import Request

if TYPE_CHECKING:
    from packyard.auth import Identity
    from packyard.registry import Registry


async def identify(registry: Registry, request: Request) -> Identity | None:
    """The caller's identity, or None without credentials; raises Unauthorized for bad ones."""
    header = request.headers.get("authorization")
    if not header:
        return None
    return await run_in_threadpool(registry.authenticate, header)


async def stored(registry: Registry, key: str) -> StoredDocument | None:
    """The stored document: on the event loop when the memo (or a local file) has it, else from a thread."""
    try:
        return registry.documents.get(ECOSYSTEM, key, io=False)
    except NeedsIO:
        return await run_in_threadpool(registry.documents.get, ECOSYSTEM, key)


async def root_listing(registry: Registry, key: str) -> StoredDocument | None:
    """The anonymous root listing, up to date: on the event loop when nothing needs rendering or
    reading, else from a thread (`documents.root_listing`)."""
    try:
        return documents.root_listing(registry, key, io=False)
    except NeedsIO:
        return await run_in_threadpool(documents.root_listing, registry, key)


async def require_read(registry: Registry, request: Request, normalized: str, doc: StoredDocument | None) -> Identity | None:
    """Raise Unauthorized/Forbidden unless the caller may read `doc` of project `normalized`
    (None: an unknown name, which only a private registry guards)."""
    public = doc is None or doc.public
    if public and not registry.settings.private:
        return None
    identity = await identify(registry, request)
    registry.document_access(identity, ECOSYSTEM, None if doc is None else normalized, public=public)
    return identity
