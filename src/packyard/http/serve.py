"""Answering a GET/HEAD for stored bytes: one `serve()` for both adapters, as plain ASGI.

A handler finds a `Representation` (a stored document, or a blob streamed from storage), checks
access, and calls `serve`, which answers 304 (If-None-Match, weak comparison), 206 (one `bytes=`
range, honoured only when If-Range still matches), 200, or for a range starting at or past the
end what the caller's policy says: PyPI answers 416; the RubyGems compact index sends the full
body with 200, which bundler 2.3 needs (RFC 9110 lets a server ignore Range). Several ranges
at once are ignored the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, BinaryIO, Final, Literal, NamedTuple

import anyio.to_thread

from packyard.documents.stored import StoredDocument

Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = tuple[tuple[bytes, bytes], ...]

UNSATISFIABLE: Final = "unsatisfiable"
FILE_CHUNK = 256 * 1024

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def strong_etag(body: bytes) -> str:
    """The ETag of a PyPI document: quoted, the first 32 hex digits of the body's sha256."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


_STATIC_ETAG = re.compile(r'^"([0-9a-f]{1,8})-([0-9a-f]+)"$')


def static_etag(body: bytes) -> str:
    """An ETag a static front computes itself: nginx's `"<mtime hex>-<size hex>"`, with the mtime
    of the materialized file chosen from the body's sha256 (`static_etag_mtime`), so nginx sends
    the app's ETag without reading a sidecar. (Only where the ETag's form is free: bundler needs
    the MD5 of the body on the compact index.)"""
    mtime = int.from_bytes(hashlib.sha256(body).digest()[:4], "big") & 0x7FFFFFFF or 1
    return f'"{mtime:x}-{len(body):x}"'


def static_etag_mtime(etag: str, size: int) -> int | None:
    """The file mtime that makes nginx compute `etag` for a body of `size` bytes (None: not a static ETag)."""
    match = _STATIC_ETAG.match(etag)
    if match is None or int(match.group(2), 16) != size:
        return None
    return int(match.group(1), 16)


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


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


def parse_byte_range(value: str | None, size: int) -> tuple[int, int] | str | None:
    """One `bytes=` range as (first, last) inclusive; None: serve the whole body (no header, a
    malformed one, or several ranges, which RFC 9110 lets a server ignore); UNSATISFIABLE when it
    starts at or past the end."""
    if not value:
        return None
    match = _RANGE.match(value.strip().replace(" ", ""))
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


def head_lines(headers: list[tuple[bytes, bytes]]) -> bytes:
    """Headers as the `name: value` lines of an HTTP/1.1 head."""
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)


@dataclass(frozen=True)
class Representation:
    """Bytes to answer with: in memory (`body`), or a stored blob (`open`, `size`)."""

    etag: str  # quoted, as sent
    content_type: str
    body: bytes | None = None
    open: Callable[[], BinaryIO] | None = None
    size: int = 0
    headers: Headers = ()  # cache-control, vary, digests, ...

    @property
    def length(self) -> int:
        return len(self.body) if self.body is not None else self.size

    @cached_property
    def whole(self) -> list[tuple[bytes, bytes]]:
        """The headers of a 200 with the whole body, built once per representation."""
        return [(b"etag", self.etag.encode()), (b"accept-ranges", b"bytes"), *self.headers,
                (b"content-type", self.content_type.encode()), (b"content-length", str(self.length).encode())]

    @cached_property
    def whole_lines(self) -> bytes:
        """`whole` as the lines of an HTTP/1.1 head (`hot_reads.py` writes them as they are)."""
        return head_lines(self.whole)

    @cached_property
    def ok(self) -> Answer:
        """The answer to a GET without conditions."""
        return Answer(200, self.whole, 0, self.length)

    @classmethod
    def of(cls, doc: StoredDocument, headers: Headers = (), body: bytes | None = None, etag: str | None = None) -> Representation:
        """A stored document (`body`/`etag`: a template filled for one base URL)."""
        return cls(etag or doc.etag, doc.media_type, doc.body if body is None else body, headers=headers)


class Representations:
    """Ready-to-send representations by the identity of what they were built from (e.g. a stored
    document's key, serial and ETag), so their headers are built once, not per request."""

    def __init__(self, max_entries: int = 65536):
        self.max_entries = max_entries
        self._reps: dict[Hashable, Representation] = {}

    def get(self, ident: Hashable, build: Callable[[], Representation]) -> Representation:
        rep = self._reps.get(ident)
        if rep is None:
            rep = build()
            if len(self._reps) >= self.max_entries:
                self._reps.clear()
            self._reps[ident] = rep
        return rep


@dataclass
class OpenedFile:
    handle: BinaryIO
    first_chunk: bytes


async def open_file(opener: Callable[[], BinaryIO], start: int, length: int) -> OpenedFile:
    """Open a stored file, seek to `start` and read the first chunk, in one thread hop (a small file
    costs one). Called before the response starts, so that storage which cannot be read (an
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


def conditions(headers: list[tuple[bytes, bytes]], refuse: frozenset[bytes] = frozenset()
               ) -> tuple[str | None, str | None, str | None] | None:
    """(If-None-Match, Range, If-Range) of a request, in one pass: this runs on every read. None
    when one of the headers named in `refuse` is there (the hot path's: `hot_reads.py`)."""
    if_none_match = range_header = if_range = None
    for name, value in headers:
        if name in refuse:
            return None
        if name == b"if-none-match":
            if_none_match = value.decode("latin-1")
        elif name == b"range":
            range_header = value.decode("latin-1")
        elif name == b"if-range":
            if_range = value.decode("latin-1")
    return if_none_match, range_header, if_range


class Answer(NamedTuple):
    """What to send for a request: status, headers, and the body's byte span (`start`, `length`)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    start: int = 0
    length: int = 0

    def body_of(self, body: bytes) -> bytes:
        """The bytes of an in-memory body this answer sends."""
        if self.length == len(body):
            return body
        return body[self.start:self.start + self.length]


def decide(rep: Representation, if_none_match: str | None, range_header: str | None, if_range: str | None,
           unsatisfiable: Literal["416", "full"]) -> Answer:
    """The answer to a GET of `rep` under these conditions (a HEAD's is the same, without the body).
    Pure, so that the protocol's hot path (`hot_reads.py`) answers exactly as `serve` does."""
    size = rep.length
    if if_none_match is None and range_header is None:  # the common case: 200
        return rep.ok
    headers = [(b"etag", rep.etag.encode()), (b"accept-ranges", b"bytes"), *rep.headers]
    if etag_matches(if_none_match, rep.etag):
        return Answer(304, headers)
    wanted = parse_byte_range(range_header, size)
    if wanted is not None and if_range is not None and if_range.strip() != rep.etag:
        wanted = None
    if wanted == UNSATISFIABLE and unsatisfiable == "full":
        wanted = None
    headers.append((b"content-type", rep.content_type.encode()))
    if wanted == UNSATISFIABLE:
        headers.append((b"content-range", f"bytes */{size}".encode()))
        headers.append((b"content-length", b"0"))
        return Answer(416, headers)
    status, start, end = 200, 0, size - 1
    if wanted is not None and wanted != (0, size - 1):
        status, (start, end) = 206, wanted  # type: ignore[misc]
        headers.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
    length = end - start + 1 if size else 0
    headers.append((b"content-length", str(length).encode()))
    return Answer(status, headers, start, length)


async def serve(scope: dict[str, Any], send: Send, rep: Representation, *,
                unsatisfiable: Literal["416", "full"] = "416") -> None:
    """Send `rep` answering HEAD, If-None-Match, Range and If-Range."""
    if_none_match, range_header, if_range = conditions(scope["headers"])  # type: ignore[misc]
    answer = decide(rep, if_none_match, range_header, if_range, unsatisfiable)
    head = scope["method"] == "HEAD"
    if rep.body is not None:
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        await send({"type": "http.response.body", "body": b"" if head else answer.body_of(rep.body)})
        return
    opened = None
    if not head and answer.length > 0:
        assert rep.open is not None
        opened = await open_file(rep.open, answer.start, answer.length)  # before the answer starts: may raise a 503
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    if opened is None:
        await send({"type": "http.response.body", "body": b""})
        return
    await stream_file(send, opened, answer.length)
