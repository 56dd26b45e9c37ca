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
from packyard_pypi.simple import compression
from packyard_pypi.simple.negotiation import CONTENT_TYPE_HEADER, JSON_V1, NotAcceptable, select_media_type
from packyard_pypi.wire import Request, Send, redirect, respond_text

if TYPE_CHECKING:
    from packyard.registry import Registry

_FIXED = ((b"vary", b"Accept, Accept-Encoding"), (b"cache-control", b"no-cache"), (b"access-control-allow-origin", b"*"))
_GZIP = (b"content-encoding", b"gzip")


def _with_query(request: Request, location: str) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{location}?{query}" if query else location


_PAGES = Representations()  # stored pages, by (ETag, serial, media type, gzip)


def _page(media_type: str, body: bytes, etag: str, serial: int, gzip: bool = False) -> Representation:
    headers = (*_FIXED, (b"x-pypi-last-serial", str(serial).encode()))
    return Representation(etag, CONTENT_TYPE_HEADER[media_type], body, headers=(*headers, _GZIP) if gzip else headers)


async def _send_page(request: Request, send: Send, media_type: str, body: bytes, etag: str, serial: int) -> None:
    await serve(request.scope, send, _page(media_type, body, etag, serial))


def _stored_page(media_type: str, doc: StoredDocument, gzip: bool = False) -> Representation:
    return _PAGES.get((doc.etag, doc.serial, media_type, gzip), lambda: _page(media_type, doc.body, doc.etag, doc.serial, gzip))


async def _send_stored(request: Request, send: Send, media_type: str, doc: StoredDocument, gzip: bool = False) -> None:
    await serve(request.scope, send, _stored_page(media_type, doc, gzip))


def wants_gzip(accept_encoding: str | None, ranged: bool) -> bool:
    """The client takes gzip and asks for no range (`simple/compression.py`)."""
    return not ranged and compression.accepts_gzip(accept_encoding)


def _wants_gzip(request: Request) -> bool:
    return wants_gzip(request.headers.get("accept-encoding"), "range" in request.headers)


def in_memory(registry: Registry, name: str | None, accept: str | None, gzip: bool) -> Representation | None:
    """The anonymous answer to `/simple/` (`name` None) or `/simple/<name>/` when this process
    holds it and nobody needs to sign in (the hot path, `hot_reads.py`); None: ask the handlers.
    A name that is not normalized has no stored page, so its redirect is the handler's too.
    `gzip`: the client takes the page's gzip variant (`wants_gzip`)."""
    try:
        media_type = select_media_type(accept)
    except NotAcceptable:
        return None
    key = documents.ROOT_JSON if media_type == JSON_V1 else documents.ROOT_HTML
    try:
        if name is None:
            if gzip:  # the listings always have one
                compressed = documents.root_listing(registry, key + compression.GZ_SUFFIX, io=False)
                if compressed is not None:
                    return _stored_page(media_type, compressed, gzip=True)
            doc = documents.root_listing(registry, key, io=False)
        else:
            html_key, json_key = documents.page_keys(name)
            key = json_key if media_type == JSON_V1 else html_key
            doc = registry.documents.get(documents.ECOSYSTEM, key, io=False)
            if doc is not None and doc.public and gzip and compression.wants_gzip_variant(doc.body):
                compressed = registry.documents.get(documents.ECOSYSTEM, key + compression.GZ_SUFFIX, io=False)
                if compressed is not None and compressed.public:
                    return _stored_page(media_type, compressed, gzip=True)
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
        key = documents.ROOT_JSON if kind == "json" else documents.ROOT_HTML
        if _wants_gzip(request):
            compressed = await root_listing(registry, key + compression.GZ_SUFFIX)
            if compressed is not None:
                await _send_stored(request, send, media_type, compressed, gzip=True)
                return
        doc = await root_listing(registry, key)
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
    key = json_key if media_type == JSON_V1 else html_key
    doc: StoredDocument | None = await stored(registry, key)
    await require_read(registry, request, normalized, doc)
    if doc is None and await proxy.project(registry, request, send, normalized, media_type):
        return
    if doc is None:
        await respond_text(send, 404, f"No project named '{name}' on this index.")
        return
    if compression.wants_gzip_variant(doc.body) and _wants_gzip(request):
        compressed = await stored(registry, key + compression.GZ_SUFFIX)
        if compressed is not None and compressed.public == doc.public:
            await _send_stored(request, send, media_type, compressed, gzip=True)
            return
    await _send_stored(request, send, media_type, doc)
