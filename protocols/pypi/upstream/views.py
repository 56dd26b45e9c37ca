"""Reads of names not published here, answered from the upstream (when one is configured and the
core's gate lets the name resolve there): the project page and the files it lists.

The page is parsed and rendered once per upstream fetch per process (`CachedPage.render`), so a
warm proxied page costs what a local one does. A file is served from storage once fetched; the
first download streams from the upstream while the core verifies and keeps it.
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


async def _proxied(registry: Registry, normalized: str) -> tuple[CachedPage, ProxiedProject] | None:
    """The upstream's page of `normalized`, or None: no upstream, a name that must not resolve
    upstream (local or reserved), or a project the upstream does not have."""
    upstream = registry.upstream(ECOSYSTEM)
    if upstream is None or not await upstream.gate.allows(normalized):
        return None
    page = await upstream.pages.get(f"simple/{normalized}/", f"{normalized}/", {"accept": PAGE_ACCEPT})
    if page is None:
        return None
    return page, page.render("project", lambda body: parse(normalized, body, page.media_type, page.url))


async def project(registry: Registry, request: Request, send: Send, normalized: str, media_type: str) -> bool:
    """Answer the project page from the upstream; False when there is none to answer with."""
    found = await _proxied(registry, normalized)
    if found is None:
        return False
    page, proxied = found
    render = json_page.render_project if media_type == JSON_V1 else html_page.render_project
    body, etag = page.render(media_type, lambda _body: _with_etag(render(proxied.page)))
    headers = (*_PAGE_HEADERS, (b"x-pypi-last-serial", str(proxied.serial).encode()),
               (b"x-packyard-upstream", b"stale" if page.stale else b"fresh"))
    await serve(request.scope, send, Representation(etag, CONTENT_TYPE_HEADER[media_type], body, headers=headers))
    return True


def _with_etag(body: bytes) -> tuple[bytes, str]:
    return body, strong_etag(body)


async def download(registry: Registry, request: Request, send: Send, normalized: str, filename: str, *, metadata: bool) -> bool:
    """Answer a file (or its `.metadata` sidecar) the upstream's page lists; False when it lists none."""
    found = await _proxied(registry, normalized)
    if found is None:
        return False
    upstream_file = found[1].files.get(filename)
    if upstream_file is None or (metadata and upstream_file.metadata_sha256 is None):
        return False
    if metadata:
        wanted = ProxiedFile(normalized, filename + ".metadata", upstream_file.url + ".metadata", upstream_file.metadata_sha256 or "",
                             None, upstream_file.version)
        media_type = TEXT
    else:
        wanted = ProxiedFile(normalized, filename, upstream_file.url, upstream_file.sha256, upstream_file.size, upstream_file.version)
        media_type = content_type(filename)
    files = registry.upstream(ECOSYSTEM).files  # type: ignore[union-attr]  # _proxied found one
    scope = b"private" if registry.settings.private else b"public"
    await serve_proxied_file(request.scope, send, files, wanted, media_type, ((b"cache-control", scope + b", max-age=31536000, immutable"),))
    return True
