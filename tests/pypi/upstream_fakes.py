"""A stand-in upstream for the proxy tests that must control what the upstream says: a simple-API
page announcing chosen digests for chosen bytes, served slowly if asked, with every request
counted (a real packyard cannot be made to lie about a hash)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FakeFile:
    filename: str
    body: bytes
    announced_sha256: str | None = None  # None: the true digest

    @property
    def sha256(self) -> str:
        return self.announced_sha256 or hashlib.sha256(self.body).hexdigest()


@dataclass
class FakeUpstream:
    """`projects[name] = [FakeFile, ...]`; `requests` counts paths and `authorizations` keeps each
    one's Authorization header; `chunk_delay` slows file bodies; `html` serves PEP 503 pages only;
    `files_at` is another fake's URL that the pages send file downloads to."""

    projects: dict[str, list[FakeFile]] = field(default_factory=dict)
    chunk_delay: float = 0.0
    html: bool = False
    files_at: str | None = None
    requests: Counter = field(default_factory=Counter)
    authorizations: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.requests[self.path] += 1
                fake.authorizations[self.path] = self.headers.get("authorization")
                parts = self.path.strip("/").split("/")
                if len(parts) == 2 and parts[0] == "simple" and parts[1] in fake.projects and fake.html:
                    links = "".join(f'<a href="{fake.file_url(f)}#sha256={f.sha256}">{f.filename}</a>\n' for f in fake.projects[parts[1]])
                    self._answer(200, f"<!DOCTYPE html><html><body>{links}</body></html>".encode(), "text/html")
                    return
                if len(parts) == 2 and parts[0] == "simple" and parts[1] in fake.projects:
                    body = json.dumps({
                        "meta": {"api-version": "1.1"}, "name": parts[1], "versions": [],
                        "files": [{"filename": f.filename, "url": fake.file_url(f), "hashes": {"sha256": f.sha256},
                                   "size": len(f.body)} for f in fake.projects[parts[1]]],
                    }).encode()
                    self._answer(200, body, "application/vnd.pypi.simple.v1+json")
                    return
                if len(parts) == 2 and parts[0] == "files":
                    for files in fake.projects.values():
                        for f in files:
                            if f.filename == parts[1]:
                                self._answer(200, f.body, "application/octet-stream")
                                return
                self._answer(404, b"not here\n", "text/plain")

            def _answer(self, status: int, body: bytes, media_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", media_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                step = 64 * 1024
                for start in range(0, len(body), step):
                    if fake.chunk_delay:
                        time.sleep(fake.chunk_delay)
                    self.wfile.write(body[start:start + step])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/simple/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def file_url(self, file: FakeFile) -> str:
        return f"{self.files_at}files/{file.filename}" if self.files_at else f"../../files/{file.filename}"

    @property
    def root(self) -> str:
        return self.url.removesuffix("simple/")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
