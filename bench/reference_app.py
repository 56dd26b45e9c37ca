"""The references for the read targets: a bare FastAPI route returning the same bytes from memory
(`app`), and the same lookup as a bare ASGI callable (`bare`: what uvicorn alone costs, the ceiling
of any app under it).

    PACKYARD_BENCH_PUBLIC=<data_dir>/public uvicorn reference_app:app --workers 2 --no-access-log

It loads every file under the public directory into a dict at start; `/pypi/simple/<p>/` answers
`index.json` when the Accept header asks for JSON, `index.html` otherwise, and its `.gz` file
(with `Content-Encoding: gzip`) when there is one and the request's Accept-Encoding names gzip.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request, Response

PUBLIC = Path(os.environ["PACKYARD_BENCH_PUBLIC"])
BODIES = {"/" + str(path.relative_to(PUBLIC)): path.read_bytes() for path in PUBLIC.rglob("*") if path.is_file()}

app = FastAPI()


@app.get("/{path:path}")
async def serve(path: str, request: Request) -> Response:
    key = "/" + path
    if key.endswith("/"):
        key += "index.json" if "json" in request.headers.get("accept", "") else "index.html"
    if "gzip" in request.headers.get("accept-encoding", "") and key + ".gz" in BODIES:
        return Response(BODIES[key + ".gz"], media_type="application/octet-stream", headers={"content-encoding": "gzip"})
    body = BODIES.get(key)
    if body is None:
        return Response(status_code=404)
    return Response(body, media_type="application/octet-stream")


async def bare(scope, receive, send) -> None:
    if scope["type"] != "http":  # lifespan
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        return
    key = scope["path"]
    headers = dict(scope["headers"])
    if key.endswith("/"):
        key += "index.json" if b"json" in headers.get(b"accept", b"") else "index.html"
    encoding = []
    if b"gzip" in headers.get(b"accept-encoding", b"") and key + ".gz" in BODIES:
        key, encoding = key + ".gz", [(b"content-encoding", b"gzip")]
    body = BODIES.get(key)
    if body is None:
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", str(len(body)).encode()), *encoding]})
    await send({"type": "http.response.body", "body": body})
