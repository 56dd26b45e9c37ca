"""Handlers of the legacy JSON API: ``/pypi/<project>/json`` and ``/pypi/<project>/<version>/json``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from packyard.http.serve import etag_matches

from . import documents
from .access import require_read
from .wire import Request, Send, redirect, respond

if TYPE_CHECKING:
    from packyard.registry import Registry

_NOT_FOUND = b'{"message": "Not Found"}\n'


async def _not_found(send: Send) -> None:
    await respond(send, 404, _NOT_FOUND, [("content-type", "application/json")])


async def project_json(
    registry: Registry, request: Request, send: Send, name: str, version: str | None, trailing_slash: bool
) -> None:
    normalized = canonicalize_name(name)
    if name != normalized:
        tail = f"{version}/json" if version else "json"
        await redirect(send, f"{request.root_path}/pypi/{normalized}/{tail}" + ("/" if trailing_slash else ""))
        return
    state = await documents.package_state(registry, normalized, registry.serial(documents.ECOSYSTEM))
    await require_read(registry, request, state)
    if state is None or not state.offers_files:  # quarantined projects are hidden, as on PyPI
        await _not_found(send)
        return
    base = request.external_base(registry.settings.base_url)
    document = await documents.json_document(registry, state, version, base)
    if document is None:
        await _not_found(send)
        return
    headers = [
        ("content-type", "application/json"),
        ("etag", document.etag),
        ("cache-control", "no-cache"),
        ("x-pypi-last-serial", str(state.last_serial)),
        ("access-control-allow-origin", "*"),
    ]
    if etag_matches(request.headers.get("if-none-match"), document.etag):
        await respond(send, 304, b"", headers, content_length=0)
        return
    await respond(send, 200, document.body, headers, include_body=request.method != "HEAD")
