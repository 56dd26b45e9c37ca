"""Thin ASGI request/response helpers for the PyPI handlers (no framework on the hot path)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]



@dataclass
class Request:
    scope: dict
    receive: Receive
    method: str
    path: str  # below the adapter's mount point, e.g. "/simple/foo/"
    root_path: str  # the mount point as the client sees it, e.g. "/pypi"
    query: dict[str, list[str]]
    headers: dict[str, str]

    @classmethod
    def from_scope(cls, scope: dict, receive: Receive) -> Request:
        root_path = scope.get("root_path", "")
        path = scope["path"]
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        raw_query = scope.get("query_string", b"")
        query = parse_qs(raw_query.decode("latin-1"), keep_blank_values=True) if raw_query else {}
        return cls(scope, receive, scope["method"], path or "/", root_path, query, headers)

    def query_value(self, key: str) -> str | None:
        values = self.query.get(key)
        return values[0] if values else None

    @property
    def client_addr(self) -> str | None:
        client = self.scope.get("client")
        return client[0] if client else None

    def external_base(self, configured: str | None) -> str:
        """Absolute URL of the mount point (PACKYARD_BASE_URL wins over the Host header)."""
        if configured:
            return configured.rstrip("/") + self.root_path
        host = self.headers.get("host")
        if not host:
            server = self.scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{self.scope.get('scheme', 'http')}://{host}{self.root_path}"

    async def body_chunks(self):
        """The request body as it arrives."""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


def reason_phrase(message: str) -> str:
    """A message made safe for an HTTP status line (Latin-1, one line)."""
    single = " ".join(message.split())
    return single.encode("latin-1", "replace").decode("latin-1")[:1000]


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def respond(
    send: Send,
    status: int,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    *,
    reason: str | None = None,
    include_body: bool = True,
    content_length: int | None = None,
) -> None:
    """Send a whole response. ``reason`` is a custom status-line phrase for servers that honour it."""
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or [])]
    length = len(body) if content_length is None else content_length
    raw_headers.append((b"content-length", str(length).encode()))
    start: dict = {"type": "http.response.start", "status": status, "headers": raw_headers}
    if reason:
        start["reason"] = reason_phrase(reason)
    await send(start)
    await send({"type": "http.response.body", "body": body if include_body else b""})


async def respond_text(
    send: Send,
    status: int,
    message: str,
    extra_headers: list[tuple[str, str]] | None = None,
    *,
    reason_in_status_line: bool = False,
) -> None:
    """A plain-text error or notice; optionally also as the status line's reason phrase (twine shows only that)."""
    headers = [("content-type", "text/plain; charset=utf-8"), *(extra_headers or [])]
    await respond(
        send,
        status,
        (message + "\n").encode("utf-8"),
        headers,
        reason=message if reason_in_status_line else None,
    )


async def redirect(send: Send, location: str, status: int = 301) -> None:
    await respond(
        send,
        status,
        f"Moved to {location}\n".encode(),
        [("location", location), ("content-type", "text/plain; charset=utf-8")],
    )
