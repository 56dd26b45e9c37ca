"""Downloads: ``/files/<project>/<filename>`` (with Range) and its ``.metadata`` sidecar (PEP 658)."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from . import documents
from .access import require_read
from .wire import Request, Send, etag_matches, respond, respond_text

if TYPE_CHECKING:
    from packyard.registry import Registry

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _content_type(filename: str) -> str:
    if filename.endswith(".whl"):
        return "application/zip"
    if filename.endswith(".tar.gz"):
        return "application/gzip"
    return "application/octet-stream"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """The (first, last) byte of a single-range request; None: serve it all; "unsatisfiable": 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # multi-range or malformed: RFC 9110 lets us answer with the whole file
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return "unsatisfiable"
    return start, end


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
    wanted = parse_range(request.headers.get("range"), info.size)
    if_range = request.headers.get("if-range")
    if if_range and if_range.strip() != etag:
        wanted = None
    if wanted == "unsatisfiable":
        await respond(send, 416, b"", [*headers, ("content-range", f"bytes */{info.size}")])
        return
    status, first, last = 200, 0, info.size - 1
    if wanted is not None:
        status, (first, last) = 206, wanted
        headers.append(("content-range", f"bytes {first}-{last}/{info.size}"))
    length = last - first + 1 if info.size else 0
    raw_headers = [(k.encode(), v.encode()) for k, v in headers]
    raw_headers.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    if request.method == "HEAD" or length == 0:
        await send({"type": "http.response.body", "body": b""})
        return
    handle = await run_in_threadpool(registry.storage.open, info.sha256)
    try:
        await run_in_threadpool(handle.seek, first)
        remaining = length
        while remaining > 0:
            chunk = await run_in_threadpool(handle.read, min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        if remaining > 0:
            await send({"type": "http.response.body", "body": b""})
    finally:
        handle.close()


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
