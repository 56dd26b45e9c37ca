"""Answer a GET/HEAD for one representation: ETag, 304, Range/206, digests — as plain ASGI.

The read handlers only find the bytes and check access; everything HTTP about sending them lives
here, so the same rules hold for `/versions`, `/info/<gem>`, `/names`, the Marshal indexes and
`.gem` downloads.

Range rules (what bundler 2.3 needs, see docs/rubygems.md): one `bytes=` range is honoured with a
206; a range starting at or past the end of the body is ignored and the full body is sent with 200
(RFC 9110 allows ignoring Range), because bundler then needs one round trip instead of three; several
ranges at once are ignored the same way. `If-None-Match` wins over Range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, BinaryIO, Callable

from packyard.byteserving import UNSATISFIABLE, etag_matches, open_file, parse_byte_range, stream_file

from . import compact_index

Send = Callable[[dict[str, Any]], Awaitable[None]]

COMPACT_INDEX_TYPE = "text/plain; charset=utf-8"
OCTET_STREAM = "application/octet-stream"
PUBLIC_CACHE = "max-age=60, public"
PRIVATE_CACHE = "private, no-cache"


@dataclass(frozen=True)
class Representation:
    """Bytes to serve plus the validators computed once for them."""

    body: bytes
    content_type: str
    etag: str  # quoted
    extra_headers: tuple[tuple[str, str], ...] = ()
    cache_control: str = PUBLIC_CACHE

    @classmethod
    def compact_index(cls, body: bytes, *, private: bool = False) -> "Representation":
        """ETag = quoted MD5 of the full body (bundler 2.3 checks exactly that); sha-256 digests
        for bundler >= 2.5 (`Repr-Digest`) and the older `Digest` header."""
        return cls(
            body=body,
            content_type=COMPACT_INDEX_TYPE,
            etag=compact_index.etag(body),
            extra_headers=(("digest", compact_index.legacy_digest(body)), ("repr-digest", compact_index.repr_digest(body))),
            cache_control=PRIVATE_CACHE if private else PUBLIC_CACHE,
        )

    @classmethod
    def binary(cls, body: bytes, *, private: bool = False) -> "Representation":
        return cls(
            body=body,
            content_type=OCTET_STREAM,
            etag=compact_index.etag(body),
            cache_control=PRIVATE_CACHE if private else PUBLIC_CACHE,
        )


@dataclass(frozen=True)
class FileRepresentation:
    """A stored file (a `.gem` blob), streamed from storage rather than held in memory."""

    open: Callable[[], BinaryIO]
    size: int
    etag: str  # quoted
    content_type: str = OCTET_STREAM
    cache_control: str = PUBLIC_CACHE
    extra_headers: tuple[tuple[str, str], ...] = field(default=())


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end-inclusive) to send as a 206, or None to send the whole body with 200:
    also for a range at or past the end, and for one that covers the whole body."""
    wanted = parse_byte_range(value, size)
    if wanted is None or wanted == UNSATISFIABLE or wanted == (0, size - 1):
        return None
    return wanted


def _base_headers(rep: Representation | FileRepresentation) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"etag", rep.etag.encode()),
        (b"accept-ranges", b"bytes"),
        (b"cache-control", rep.cache_control.encode()),
    ]
    headers.extend((k.encode(), v.encode()) for k, v in rep.extra_headers)
    return headers


async def serve(scope: dict[str, Any], send: Send, rep: Representation | FileRepresentation) -> None:
    """Send `rep` answering HEAD, If-None-Match, Range and If-Range."""
    size = rep.size if isinstance(rep, FileRepresentation) else len(rep.body)
    headers = _base_headers(rep)
    inm = header(scope, b"if-none-match")
    if etag_matches(inm, rep.etag):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    byte_range = parse_range(header(scope, b"range"), size)
    if_range = header(scope, b"if-range")
    if byte_range and if_range is not None and if_range.strip() != rep.etag:
        byte_range = None
    if byte_range:
        start, end = byte_range
        status = 206
        headers.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
    else:
        start, end = 0, size - 1
        status = 200
    length = end - start + 1 if size else 0
    headers.append((b"content-type", rep.content_type.encode()))
    headers.append((b"content-length", str(length).encode()))
    opened = None
    if isinstance(rep, FileRepresentation) and scope["method"] != "HEAD" and length > 0:
        opened = await open_file(rep.open, start, length)  # before the answer starts: may raise a 503
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    if isinstance(rep, Representation):
        await send({"type": "http.response.body", "body": rep.body[start:end + 1] if status == 206 else rep.body})
        return
    if opened is None:
        await send({"type": "http.response.body", "body": b""})
        return
    await stream_file(send, opened, length)


async def send_text(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None,
                    *, head: bool = False, content_type: str = COMPACT_INDEX_TYPE) -> None:
    """A plain-text answer (errors, 404s), the way rubygems.org words them."""
    body = text.encode()
    out = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    out.extend(headers or [])
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": b"" if head else body})
