"""Handlers of the legacy JSON API: ``/pypi/<project>/json`` and ``/pypi/<project>/<version>/json``.

The documents are stored with a base-URL placeholder (their URLs are absolute) and filled for the
request's base, memoized per (document, base); a release's document also leaves its `last_serial`
to the read, which takes the project document's serial."""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name, canonicalize_version

from packyard.http.serve import Representation, serve

from packyard_pypi import documents
from packyard_pypi.access import require_read, stored
from packyard_pypi.wire import Request, Send, redirect, respond

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
    doc = await stored(registry, documents.json_key(normalized, version))
    if doc is None and version is not None:
        doc = await stored(registry, documents.json_key(normalized, canonicalize_version(version)))
    await require_read(registry, request, normalized, doc)
    if doc is None:  # also quarantined projects, hidden as on PyPI
        await _not_found(send)
        return
    last_serial = doc.serial  # the project document is rewritten by every change of the project
    if version is not None:  # a release's is not: its last_serial is the project document's
        project = await stored(registry, documents.json_key(normalized))
        last_serial = project.serial if project is not None else doc.serial
    body, etag = registry.documents.filled(doc, request.external_base(registry.settings.base_url), last_serial)
    headers = ((b"cache-control", b"no-cache"), (b"x-pypi-last-serial", str(last_serial).encode()), (b"access-control-allow-origin", b"*"))
    await serve(request.scope, send, Representation(etag, doc.media_type, body, headers=headers))
