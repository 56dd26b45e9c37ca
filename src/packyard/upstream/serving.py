"""Answering a download of a proxied file, the same way for every adapter: from storage once it
is kept (200/206/304 through `packyard.http.serve`), else the first download streamed from the
upstream as it is verified; a HEAD before the first download answers from the announced size."""

from __future__ import annotations

import logging
from contextlib import aclosing
from typing import Any

from packyard.errors import PackyardError
from packyard.http.serve import Headers, Representation, Send, serve
from packyard.upstream.files import ProxiedFile, UpstreamFiles

log = logging.getLogger("packyard.upstream")


async def serve_proxied_file(scope: dict[str, Any], send: Send, files: UpstreamFiles, wanted: ProxiedFile, media_type: str,
                             headers: Headers = ()) -> Representation | None:
    """ETag is the quoted sha256. Raises UpstreamUnavailable (502) before answering when the first
    download cannot start; a download whose bytes turn out wrong is cut short (nothing kept).
    Returns the representation served when the file was kept (an adapter may re-use it: `Upstream.warm`)."""
    etag = f'"{wanted.sha256}"'
    size = await files.local_size(wanted.sha256)
    if size is None and scope["method"] == "HEAD":
        head = [(b"content-type", media_type.encode()), (b"etag", etag.encode()), *headers]
        if wanted.size is not None:
            head.append((b"content-length", str(wanted.size).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": head})
        await send({"type": "http.response.body", "body": b""})
        return None
    first = await files.fetch(wanted) if size is None else None
    if first is None:
        size = size if size is not None else await files.local_size(wanted.sha256)
        store = files.registry.storage
        rep = Representation(etag, media_type, open=lambda: store.open(wanted.sha256), size=size or 0, headers=headers)
        await serve(scope, send, rep)
        return rep if size is not None else None
    start = [(b"content-type", media_type.encode()), (b"etag", etag.encode()), *headers]
    if first.size is not None:
        start.append((b"content-length", str(first.size).encode()))
    try:
        await send({"type": "http.response.start", "status": 200, "headers": start})
        async with aclosing(first.chunks()) as chunks:
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except PackyardError as exc:  # the answer has started: end it short, so the client sees a broken download
        log.error("proxied download of %s cut short: %s", wanted.filename, exc.detail)
        return None
    finally:
        await first.close()
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    return None
