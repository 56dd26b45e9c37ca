"""The ASGI app mounted at ``/pypi``: a plain path dispatcher in front of thin handlers.

Routes (below the mount point):
  /simple/                             simple index (PEP 503/691)
  /simple/<project>/                   project page
  /files/<project>/<filename>          downloads; ``<filename>.metadata`` is the PEP 658 sidecar
  /legacy/  (and /legacy)              twine / uv upload
  /pypi/<project>/json                 legacy JSON API; also /pypi/<project>/<version>/json
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packyard.errors import PackyardError
from packyard.http.hot_reads import HotReads
from packyard.http.serve import Representation
from packyard.observability.request_context import note_route

from packyard_pypi import documents, file_views
from packyard_pypi.json_api import views as json_views
from packyard_pypi.simple import views as simple_views
from packyard_pypi.upload import views as upload
from packyard_pypi.wire import Request, Send, redirect, respond_text

if TYPE_CHECKING:
    from packyard.registry import Registry

_READ_METHODS = ("GET", "HEAD")


def _negotiated(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, bool]:
    """(Accept, whether the gzip variant may answer) of a request, in one pass over its headers."""
    accept = accept_encoding = None
    ranged = False
    for name, value in headers:
        if name == b"accept":
            accept = value.decode("latin-1")
        elif name == b"accept-encoding":
            accept_encoding = value.decode("latin-1")
        elif name == b"range":
            ranged = True
    return accept, simple_views.wants_gzip(accept_encoding, ranged)


class PypiApp:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def hot_reads(self) -> HotReads | None:
        """Pages, listings, sidecars and small files this process holds, for the server to answer
        from memory (`packyard.http.hot_reads`). None when answers depend on credentials (a
        private registry) or on an upstream's freshness rules (a proxy)."""
        registry = self.registry
        if registry.settings.private or registry.upstream(documents.ECOSYSTEM) is not None:
            return None

        def lookup(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[Representation, str] | None:
            if path.startswith("/simple/"):
                name = path[len("/simple/"):]
                if not name:
                    rep = simple_views.in_memory(registry, None, *_negotiated(headers))
                    return None if rep is None else (rep, "/simple/")
                if name.endswith("/") and "/" not in name[:-1]:
                    rep = simple_views.in_memory(registry, name[:-1], *_negotiated(headers))
                    return None if rep is None else (rep, "/simple/{project}/")
                return None
            if path.startswith("/files/"):
                project, _, filename = path[len("/files/"):].partition("/")
                if not project or not filename or "/" in filename:
                    return None
                rep = file_views.in_memory(registry, project, filename)
                if rep is None:
                    return None
                return rep, "/files/{project}/{filename}.metadata" if filename.endswith(".metadata") else "/files/{project}/{filename}"
            return None

        return HotReads(lookup, "416")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        request = Request.from_scope(scope, receive)
        try:
            await self._dispatch(request, send)
        except PackyardError as exc:
            await respond_text(send, exc.status_code, exc.detail, list(exc.headers))

    async def _dispatch(self, request: Request, send: Send) -> None:
        registry = self.registry
        path = request.path
        parts = path.strip("/").split("/") if path.strip("/") else []
        slash = path.endswith("/")
        if parts and parts[0] == "legacy" and len(parts) == 1:
            note_route(request.scope, "/legacy/")
            await upload.upload(registry, request, send)  # no redirect for /legacy: twine refuses 3xx
            return
        if request.method not in _READ_METHODS:
            await respond_text(send, 405, f"{request.method} is not allowed here.", [("allow", "GET, HEAD")])
            return
        if parts == ["simple"]:
            note_route(request.scope, "/simple/")
            if not slash:
                await redirect(send, f"{request.root_path}/simple/")
                return
            await simple_views.index(registry, request, send)
            return
        if len(parts) == 2 and parts[0] == "simple":
            note_route(request.scope, "/simple/{project}/")
            await simple_views.project(registry, request, send, parts[1], slash)
            return
        if len(parts) == 3 and parts[0] == "files" and not slash:
            project, filename = parts[1], parts[2]
            if filename.endswith(".metadata"):
                note_route(request.scope, "/files/{project}/{filename}.metadata")
                await file_views.metadata(registry, request, send, project, filename[: -len(".metadata")])
            else:
                note_route(request.scope, "/files/{project}/{filename}")
                await file_views.download(registry, request, send, project, filename)
            return
        if parts[:1] == ["pypi"] and parts[-1:] == ["json"] and len(parts) in (3, 4):
            version = parts[2] if len(parts) == 4 else None
            note_route(request.scope, "/pypi/{project}/{version}/json" if version else "/pypi/{project}/json")
            await json_views.project_json(registry, request, send, parts[1], version, slash)
            return
        await respond_text(
            send, 404, f"Not found: {request.root_path}{path}. The index is at {request.root_path}/simple/."
        )
