"""Plain-text answers (errors, 404s) of the gem source, worded the way rubygems.org words them."""

from __future__ import annotations

from packyard.http.serve import Send

from packyard_rubygems.index.documents import COMPACT_INDEX_TYPE


async def send_text(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None,
                    *, head: bool = False, content_type: str = COMPACT_INDEX_TYPE) -> None:
    body = text.encode()
    out = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    out.extend(headers or [])
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": b"" if head else body})
