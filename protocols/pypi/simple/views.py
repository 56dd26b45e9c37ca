"""Handlers of the simple repository API: ``/simple/`` and ``/simple/<project>/``.

Each one finds the stored document, checks access and answers; rendering happens when a change
alters a page (``documents``), never here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from starlette.concurrency import run_in_threadpool

from packyard.documents.store import NeedsIO
from packyard.documents.stored import StoredDocument
from packyard.http.serve import Representation, Representations, serve, strong_etag

from packyard_pypi import documents
from packyard_pypi.access import identify, require_read, root_listing, stored
from packyard_pypi.upstream import views as proxy
from packyard_pypi.simple.negotiation import CONTENT_TYPE_HEADER, JSON_V1, NotAcceptable, select_media_type
from packyard_pypi.wire import Request, Send, redirect, respond_text

if TYPE_CHECKING:
    from packyard.registry import Registry

_FIXED = ((b"vary", b"Accept"), (b"cache-control", b"no-cache"), (b"access-control-allow-origin", b"*"))


def _with_query(request: Request, location: str) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{location}?{query}" if query else location


_PAGES = Representations()  # stored pages, by (ETag, serial, media type)


def _page(media_type: str, body: bytes, etag: str, serial: int) -> Representation:
    return Representation(etag, CONTENT_TYPE_HEADER[media_type], body,
                          headers=(*_FIXED, (b"x-pypi-last-serial", str(serial).encode())))


async def _send_page(request: Request, send: Send, media_type: str, body: bytes, etag: str, serial: int) -> None:
    await serve(request.scope, send, _page(media_type, body, etag, serial))


def _stored_page(media_type: str, doc: StoredDocument) -> Representation:
    return _PAGES.get((doc.etag, doc.serial, media_type), lambda: _page(media_type, doc.body, doc.etag, doc.serial))


async def _send_stored(request: Request, send: Send, media_type: str, doc: StoredDocument) -> None:
    await serve(request.scope, send, _stored_page(media_type, doc))


def in_memory(registry: Registry, name: str | None, accept: str | None) -> Representation | None:
    """The anonymous answer to `/simple/` (`name` None) or `/simple/<name>/` when this process
    holds it and nobody needs to sign in (the hot path, `hot_reads.py`); None: ask the handlers.
    A name that is not normalized has no stored page, so its redirect is the handler's too."""
    try:
        media_type = select_media_type(accept)
    except NotAcceptable:
        return None
    key = documents.ROOT_JSON if media_type == JSON_V1 else documents.ROOT_HTML
    try:
        if name is None:
            doc = documents.root_listing(registry, key, io=False)
        else:
            html_key, json_key = documents.page_keys(name)
            doc = registry.documents.get(documents.ECOSYSTEM, json_key if media_type == JSON_V1 else html_key, io=False)
    except NeedsIO:
        return None
    if doc is None or not doc.public:
        return None
    return _stored_page(media_type, doc)


def _negotiate(request: Request) -> str:
    return select_media_type(request.headers.get("accept"), request.query_value("format"))


async def _not_acceptable(send: Send, exc: NotAcceptable) -> None:
    await respond_text(send, 406, str(exc), [("vary", "Accept")])


async def index(registry: Registry, request: Request, send: Send) -> None:
    try:
        media_type = _negotiate(request)
    except NotAcceptable as exc:
        await _not_acceptable(send, exc)
        return
    kind = "json" if media_type == JSON_V1 else "html"
    if "authorization" not in request.headers and not registry.settings.private:
        doc = await root_listing(registry, documents.ROOT_JSON if kind == "json" else documents.ROOT_HTML)
        if doc is not None:
            await _send_stored(request, send, media_type, doc)
            return
    identity = await identify(registry, request)  # a reader with credentials also sees their private projects
    registry.read_access(identity, documents.ECOSYSTEM, None)
    serial = registry.serial(documents.ECOSYSTEM)
    body = await _listing(registry, identity, serial, kind)
    await _send_page(request, send, media_type, body, strong_etag(body), serial)


async def _listing(registry: Registry, identity, serial: int, kind: str) -> bytes:
    """Per reader (their scopes decide what it lists), cached until the serial moves."""
    key = f"pypi:index:{serial}:{'token' + str(identity.token.id) if identity and identity.token else 'anonymous'}:{kind}"
    body = registry.cache.get(key)
    if body is None:
        if identity is None:
            body = await run_in_threadpool(documents.listing_for_anonymous, registry, serial, kind)
        else:
            body = await run_in_threadpool(documents.listing_for, registry, identity, serial, kind)
        registry.cache.set(key, body, ttl=600)
    return body


async def project(registry: Registry, request: Request, send: Send, name: str, slash: bool) -> None:
    normalized = canonicalize_name(name)
    if name != normalized or not slash:
        await redirect(send, _with_query(request, f"{request.root_path}/simple/{normalized}/"))
        return
    try:
        media_type = _negotiate(request)
    except NotAcceptable as exc:
        await _not_acceptable(send, exc)
        return
    warm = proxy.warm(registry, ("page", normalized, media_type))
    if warm is not None:  # an upstream page that still holds: no local document took its name
        await serve(request.scope, send, warm)
        return
    html_key, json_key = documents.page_keys(normalized)
    doc: StoredDocument | None = await stored(registry, json_key if media_type == JSON_V1 else html_key)
    await require_read(registry, request, normalized, doc)
    if doc is None and await proxy.project(registry, request, send, normalized, media_type):
        return
    if doc is None:
        await respond_text(send, 404, f"No project named '{name}' on this index.")
        return
    await _send_stored(request, send, media_type, doc)
