"""The reference for the read targets: a bare FastAPI route returning the same bytes from memory.

    PACKYARD_BENCH_PUBLIC=<data_dir>/public uvicorn reference_app:app --workers 2 --no-access-log

It loads every file under the public directory into a dict at start; `/pypi/simple/<p>/` answers
`index.json` when the Accept header asks for JSON, `index.html` otherwise.
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
    body = BODIES.get(key)
    if body is None:
        return Response(status_code=404)
    return Response(body, media_type="application/octet-stream")
