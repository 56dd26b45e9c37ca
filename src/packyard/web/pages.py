"""Rendering a page: the Jinja2 templates, and the headers every page carries.

The Content-Security-Policy runs no script at all and loads styles and images from packyard only,
so even HTML that slipped past the description sanitizer could neither run nor call out.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape
from jinja2.bccache import Bucket
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from packyard import __version__
from packyard.http.serve import etag_matches
from packyard.web.context import Visitor

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

templates = Environment(
    loader=PackageLoader("packyard.web", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


log = logging.getLogger("packyard.web")


class CompiledTemplates(FileSystemBytecodeCache):
    """Jinja's compiled templates kept on disk, so a process's first page after a restart does not
    compile them again (10-30 ms for a package page); a cache that cannot be read or written (disk
    full, a directory taken away) only makes pages compile, never fail."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(str(directory))

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):  # unreadable or cut short: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            log.warning("could not keep a compiled template in %s", self.directory, exc_info=True)


def keep_compiled_templates(directory: Path) -> None:
    try:
        templates.bytecode_cache = CompiledTemplates(directory)
    except OSError:
        log.warning("could not make %s: templates are compiled in each process", directory, exc_info=True)


def _filesize(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


templates.filters["filesize"] = _filesize
templates.filters["when"] = lambda at: at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


def security_headers(visitor: Visitor | None) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Vary": "Cookie",
    }
    # A signed-in page holds the session's CSRF token and private data: never stored anywhere.
    headers["Cache-Control"] = "private, no-store" if visitor is not None and visitor.signed_in else "no-cache"
    return headers


def render(request: Request, visitor: Visitor | None, template: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    body = templates.get_template(template).render(request=request, visitor=visitor, version=__version__, **context)
    return HTMLResponse(body, status_code=status, headers={**security_headers(visitor), **(headers or {})})


def cacheable(request: Request, visitor: Visitor, validators: Iterable[object], build: Callable[[], HTMLResponse]) -> Response:
    """An anonymous visitor's page with an ETag from `validators` (what the page shows depends on
    only: serials, base URL, query), answered 304 without loading or rendering anything when the
    browser already has it. Signed-in pages are built every time and never stored."""
    if visitor.signed_in:
        return build()
    etag = 'W/"' + hashlib.sha256(repr((__version__, visitor.base_url, *validators)).encode()).hexdigest()[:32] + '"'
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={**security_headers(visitor), "ETag": etag})
    response = build()
    response.headers["ETag"] = etag
    return response
