"""HTTP validators and byte ranges, shared by the adapters' read handlers.

The parsing is here once; the policy stays with each adapter (PyPI answers an unsatisfiable range
with 416; the RubyGems compact index answers it with the full body, which bundler 2.3 needs).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO, Final

import anyio.to_thread

Send = Callable[[dict[str, Any]], Awaitable[None]]

UNSATISFIABLE: Final = "unsatisfiable"
FILE_CHUNK = 256 * 1024

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): `W/` and quoting don't matter."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/").strip('"')
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/").strip('"') == bare:
            return True
    return False


def parse_byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """One `bytes=` range as (first, last) inclusive; None: serve the whole body (no header, a
    malformed one, or several ranges, which RFC 9110 lets a server ignore); UNSATISFIABLE when it
    starts at or past the end."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return UNSATISFIABLE
        return max(size - length, 0), size - 1
    start = int(first)
    if start >= size or (last and int(last) < start):
        return UNSATISFIABLE
    return start, min(int(last), size - 1) if last else size - 1


async def stream_file(send: Send, opener: Callable[[], BinaryIO], start: int, length: int) -> None:
    """Send `length` bytes from `start` of a stored file as the response body, in chunks.

    Opening, seeking and the first read share one thread hop, so a small file costs one.
    """

    def open_and_read() -> tuple[BinaryIO, bytes]:
        handle = opener()
        handle.seek(start)
        return handle, handle.read(min(FILE_CHUNK, length))

    handle, chunk = await anyio.to_thread.run_sync(open_and_read)
    try:
        remaining = length - len(chunk)
        while True:
            more = remaining > 0 and bool(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            if not more:
                return
            chunk = await anyio.to_thread.run_sync(handle.read, min(FILE_CHUNK, remaining))
            remaining -= len(chunk)
    finally:
        handle.close()
