"""Reads of names not published here, answered from the upstream (when one is configured and the
core's gate lets the name resolve there): the project page and the files it lists.

The page is parsed and rendered once per upstream fetch per process (`CachedPage.render`). Each
answer from a fresh page, and each kept file's representation, goes into the core's `Upstream.warm`:
the read paths ask `warm` first, so a warm proxied page or file costs what a local one does (the
same `serve()` of a ready representation). A file is served from storage once fetched; the first
download streams from the upstream while the core verifies and keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packyard.http.serve import Representation, serve, strong_etag
from packyard.upstream import CachedPage, ProxiedFile, serve_proxied_file

from packyard_pypi.documents import ECOSYSTEM, TEXT, content_type
from packyard_pypi.simple import html_page, json_page
from packyard_pypi.simple.negotiation import CONTENT_TYPE_HEADER, JSON_V1
from packyard_pypi.upstream.project import ProxiedProject, parse
from packyard_pypi.wire import Request, Send

if TYPE_CHECKING:
    from packyard.registry import Registry

# PEP 691 JSON first; HTML only from an upstream that cannot do JSON.
PAGE_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
_PAGE_HEADERS = ((b"vary", b"Accept"), (b"cache-control", b"no-cache"), (b"access-control-allow-origin", b"*"))


def warm(registry: Registry, key: tuple[str, ...]) -> Representation | None:
    """An answer served before from the upstream that still holds (see `Upstream.warm`); the read
    paths ask this before looking for a local document, which they then know is absent.
    Keys: ("page", project, media type), ("file", project, filename)."""
    upstream = registry.upstream(ECOSYSTEM)
    return None if upstream is None else upstream.warm.get(key)


async def _proxied(registry: Registry, normalized: str) -> tuple[CachedPage, ProxiedProject, int] | None:
    """The upstream's page of `normalized` and the serial read before the gate was asked, or None:
    no upstream, a name that must not resolve upstream (local or reserved), or a project the
    upstream does not have."""
    upstream = registry.upstream(ECOSYSTEM)
    if upstream is None:
        return None
    serial = registry.serial(ECOSYSTEM)
    if not await upstream.gate.allows(normalized):
        return None
    page = await upstream.pages.get(f"simple/{normalized}/", f"{normalized}/", {"accept": PAGE_ACCEPT})
    if page is None:
        return None
    return page, page.render("project", lambda body: parse(normalized, body, page.media_type, page.url)), serial


async def project(registry: Registry, request: Request, send: Send, normalized: str, media_type: str) -> bool:
    """Answer the project page from the upstream; False when there is none to answer with."""
    found = await _proxied(registry, normalized)
    if found is None:
        return False
    page, proxied, serial = found
    state = "stale" if page.stale else "fresh"
    rep = page.render(f"{media_type} {state}", lambda _body: _page(proxied, media_type, state))
    if not page.stale:
        registry.upstream(ECOSYSTEM).warm.put(("page", normalized, media_type), serial, page, rep)  # type: ignore[union-attr]
    await serve(request.scope, send, rep)
    return True


def _page(proxied: ProxiedProject, media_type: str, state: str) -> Representation:
    body = (json_page.render_project if media_type == JSON_V1 else html_page.render_project)(proxied.page)
    headers = (*_PAGE_HEADERS, (b"x-pypi-last-serial", str(proxied.serial).encode()), (b"x-packyard-upstream", state.encode()))
    return Representation(strong_etag(body), CONTENT_TYPE_HEADER[media_type], body, headers=headers)


async def download(registry: Registry, request: Request, send: Send, normalized: str, filename: str, *, metadata: bool) -> bool:
    """Answer a file (or its `.metadata` sidecar) the upstream's page lists; False when it lists none."""
    found = await _proxied(registry, normalized)
    if found is None:
        return False
    page, proxied, serial = found
    upstream_file = proxied.files.get(filename)
    if upstream_file is None or (metadata and upstream_file.metadata_sha256 is None):
        return False
    if metadata:
        wanted = ProxiedFile(normalized, filename + ".metadata", upstream_file.url + ".metadata", upstream_file.metadata_sha256 or "",
                             None, upstream_file.version)
        media_type = TEXT
    else:
        wanted = ProxiedFile(normalized, filename, upstream_file.url, upstream_file.sha256, upstream_file.size, upstream_file.version)
        media_type = content_type(filename)
    upstream = registry.upstream(ECOSYSTEM)
    assert upstream is not None  # _proxied found one
    scope = b"private" if registry.settings.private else b"public"
    kept = await serve_proxied_file(request.scope, send, upstream.files, wanted, media_type,
                                    ((b"cache-control", scope + b", max-age=31536000, immutable"),))
    if kept is not None and not page.stale:
        upstream.warm.put(("file", normalized, wanted.filename), serial, page, kept)
    return True
