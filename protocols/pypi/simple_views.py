"""Handlers of the simple repository API: ``/simple/`` and ``/simple/<project>/``.

Each one finds cached bytes, checks access and answers 200 or 304; rendering lives in
``documents`` and the ``simple_*`` renderers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from packyard.http.serve import etag_matches

from . import documents
from .access import identify, require_read
from .negotiation import CONTENT_TYPE_HEADER, JSON_V1, NotAcceptable, select_media_type
from .wire import Request, Send, redirect, respond, respond_text

if TYPE_CHECKING:
    from packyard.registry import Registry


def _with_query(request: Request, location: str) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{location}?{query}" if query else location


async def _send_document(
    request: Request, send: Send, media_type: str, document: documents.Document, serial: int
) -> None:
    headers = [
        ("content-type", CONTENT_TYPE_HEADER[media_type]),
        ("etag", document.etag),
        ("vary", "Accept"),
        ("cache-control", "no-cache"),
        ("x-pypi-last-serial", str(serial)),
        ("access-control-allow-origin", "*"),
    ]
    if etag_matches(request.headers.get("if-none-match"), document.etag):
        await respond(send, 304, b"", headers, content_length=0)
        return
    await respond(send, 200, document.body, headers, include_body=request.method != "HEAD")


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
    identity = await identify(registry, request)  # a reader with credentials also sees their private projects
    registry.read_access(identity, documents.ECOSYSTEM, None)
    serial = registry.serial(documents.ECOSYSTEM)
    kind = "json" if media_type == JSON_V1 else "html"
    document = await documents.index_page(registry, serial, kind, identity)
    await _send_document(request, send, media_type, document, serial)


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
    state = await documents.package_state(registry, normalized, registry.serial(documents.ECOSYSTEM))
    await require_read(registry, request, state)
    if state is None:
        await respond_text(send, 404, f"No project named '{name}' on this index.")
        return
    kind = "json" if media_type == JSON_V1 else "html"
    document = await documents.project_page(registry, state, kind)
    await _send_document(request, send, media_type, document, state.last_serial)
