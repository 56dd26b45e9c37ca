"""Downloads: ``/files/<project>/<filename>`` (with Range) and its ``.metadata`` sidecar (PEP 658)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from packyard.byteserving import UNSATISFIABLE, etag_matches, open_file, parse_byte_range, stream_file

from . import documents
from .access import require_read
from .wire import Request, Send, respond, respond_text

if TYPE_CHECKING:
    from packyard.registry import Registry



def _content_type(filename: str) -> str:
    if filename.endswith(".whl"):
        return "application/zip"
    if filename.endswith(".tar.gz"):
        return "application/gzip"
    return "application/octet-stream"


def _cache_control(registry: Registry, state: documents.PackageState) -> str:
    """A published file never changes; only private ones must stay out of shared caches."""
    private = state.is_private or registry.settings.private
    return ("private" if private else "public") + ", max-age=31536000, immutable"


async def _file_state(registry: Registry, request: Request, send: Send, project: str):
    state = await documents.package_state(registry, project, registry.serial(documents.ECOSYSTEM))
    await require_read(registry, request, state)
    if state is None or not state.offers_files:
        await respond_text(send, 404, f"No file here: project '{project}' is unknown or offers no files.")
        return None
    return state


async def download(registry: Registry, request: Request, send: Send, project: str, filename: str) -> None:
    state = await _file_state(registry, request, send, project)
    if state is None:
        return
    info = await documents.file_info(registry, state, filename)
    if info is None:
        await respond_text(send, 404, f"No file named '{filename}' in project '{state.name}'.")
        return
    etag = f'"{info.sha256}"'
    headers = [
        ("content-type", _content_type(filename)),
        ("etag", etag),
        ("accept-ranges", "bytes"),
        ("cache-control", _cache_control(registry, state)),
    ]
    if etag_matches(request.headers.get("if-none-match"), etag):
        await respond(send, 304, b"", headers, content_length=0)
        return
    wanted = parse_byte_range(request.headers.get("range"), info.size)
    if_range = request.headers.get("if-range")
    if if_range and if_range.strip() != etag:
        wanted = None
    if wanted == UNSATISFIABLE:
        await respond(send, 416, b"", [*headers, ("content-range", f"bytes */{info.size}")])
        return
    status, first, last = 200, 0, info.size - 1
    if wanted is not None:
        status, (first, last) = 206, wanted
        headers.append(("content-range", f"bytes {first}-{last}/{info.size}"))
    length = last - first + 1 if info.size else 0
    raw_headers = [(k.encode(), v.encode()) for k, v in headers]
    raw_headers.append((b"content-length", str(length).encode()))
    body = request.method != "HEAD" and length > 0
    opened = await open_file(lambda: registry.storage.open(info.sha256), first, length) if body else None
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    if opened is None:
        await send({"type": "http.response.body", "body": b""})
        return
    await stream_file(send, opened, length)


async def metadata(registry: Registry, request: Request, send: Send, project: str, filename: str) -> None:
    state = await _file_state(registry, request, send, project)
    if state is None:
        return
    body = await documents.core_metadata(registry, state, filename)
    if body is None:
        await respond_text(send, 404, f"No core metadata is published for '{filename}' (only wheels have it).")
        return
    etag = '"' + hashlib.sha256(body).hexdigest() + '"'
    headers = [
        ("content-type", "text/plain; charset=utf-8"),
        ("etag", etag),
        ("cache-control", _cache_control(registry, state)),
    ]
    if etag_matches(request.headers.get("if-none-match"), etag):
        await respond(send, 304, b"", headers, content_length=0)
        return
    await respond(send, 200, body, headers, include_body=request.method != "HEAD")
