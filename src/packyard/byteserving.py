"""HTTP validators and byte ranges, shared by the adapters' read handlers.

The parsing is here once; the policy stays with each adapter (PyPI answers an unsatisfiable range
with 416; the RubyGems compact index answers it with the full body, which bundler 2.3 needs).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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


@dataclass
class OpenedFile:
    handle: BinaryIO
    first_chunk: bytes


async def open_file(opener: Callable[[], BinaryIO], start: int, length: int) -> OpenedFile:
    """Open a stored file, seek to `start` and read the first chunk, in one thread hop (a small file
    costs one). Call it before the response starts, so that storage which cannot be read (an
    unreachable object store: ServiceUnavailable) is still answered with its own status."""

    def open_and_read() -> OpenedFile:
        handle = opener()
        try:
            handle.seek(start)
            return OpenedFile(handle, handle.read(min(FILE_CHUNK, length)))
        except BaseException:
            handle.close()
            raise

    return await anyio.to_thread.run_sync(open_and_read)


async def stream_file(send: Send, opened: OpenedFile, length: int) -> None:
    """Send `length` bytes of an opened file as the response body, in chunks, and close it."""
    handle, chunk = opened.handle, opened.first_chunk
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
