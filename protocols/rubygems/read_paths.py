"""The hot GET/HEAD paths of the gem source, as a plain ASGI callable in front of the API routes.

Each handler only finds the bytes (`IndexReader`: from the memo on the event loop, or from the
database in a worker thread), checks access and hands them to the core's `serve`; anything else (push, yank, JSON API, ...) falls through to `api_routes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

import anyio.to_thread

from packyard.errors import NotFound, PackyardError
from packyard.http.hot_reads import HotReads
from packyard.http.serve import Representation, header, serve
from packyard.observability.request_context import note_route
from packyard.upstream import ProxiedFile

from packyard_rubygems.api import messages
from packyard_rubygems.index.reader import IndexReader, NeedsIO
from packyard_rubygems.api.plain_text import send_text

if TYPE_CHECKING:
    from packyard_rubygems.upstream.proxy import UpstreamGems

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

SPECS_FILES = {
    "/specs.4.8.gz": "specs",
    "/latest_specs.4.8.gz": "latest_specs",
    "/prerelease_specs.4.8.gz": "prerelease_specs",
}
QUICK_PREFIX = "/quick/Marshal.4.8/"
QUICK_SUFFIX = ".gemspec.rz"
QUICK_ROUTE = QUICK_PREFIX + "{gem}" + QUICK_SUFFIX
# Route templates are these constant strings, never the request's path: the metrics key on them (a
# string made per request would be hashed and compared on every count).
SPECS_ROUTES = {path: path for path in SPECS_FILES}


def route_path(scope: dict[str, Any]) -> str:
    """The path below the mount point (`/rubygems`)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root):]
    return path


MISS = object()


def _memo_only(find):
    try:
        return find(False)
    except NeedsIO:
        return MISS


def _safe_name(part: str) -> bool:
    return bool(part) and "/" not in part and part not in (".", "..")


class ReadPaths:
    def __init__(self, reader: IndexReader, fallback: ASGIApp, upstream: UpstreamGems | None = None):
        self.reader = reader
        self.fallback = fallback
        self.upstream = upstream

    def hot_reads(self) -> HotReads | None:
        """The index documents this process holds, for the server to answer from memory
        (`packyard.http.hot_reads`); .gem files are streamed, so always go through `__call__`.
        None when answers depend on credentials (a private registry) or on the upstream (a proxy)."""
        if self.upstream is not None or self.reader.registry.settings.private:
            return None

        def lookup(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[Representation, str] | None:
            found = self._route(path)
            if found is None:
                return None
            template, handler = found
            try:
                rep = handler(None, path, False)
            except (NeedsIO, PackyardError):
                return None
            return None if rep is None else (rep, template)

        return HotReads(lookup, "full")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.fallback(scope, receive, send)
            return
        if self.upstream is not None:  # a static front may serve /versions: sync on a schedule too
            self.upstream.versions.start_schedule()
        path = route_path(scope)
        head = scope["method"] == "HEAD"
        if path in ("", "/"):  # RubyGems 3.3 probes it to choose the compact index; it reveals nothing
            note_route(scope, "/")
            await send_text(send, 200, "", head=head, content_type="text/plain")
            return
        found = self._route(path)
        if found is None:
            await self.fallback(scope, receive, send)
            return
        template, handler = found
        note_route(scope, template)
        authorization = header(scope, b"authorization")
        try:
            rep = await self._find(path, handler, authorization)
            if isinstance(rep, ProxiedFile):
                assert self.upstream is not None
                await self.upstream.serve_gem(scope, send, rep)
                return
        except PackyardError as exc:
            extra = [(name.encode(), value.encode()) for name, value in exc.headers]
            await send_text(send, exc.status_code, exc.detail, extra, head=head)
            return
        if rep is None:
            await send_text(send, 404, messages.file_not_found(path), head=head, content_type="text/plain")
            return
        try:
            await serve(scope, send, rep, unsatisfiable="full")
        except PackyardError as exc:  # the file's storage failed before the answer started
            await send_text(send, exc.status_code, exc.detail, [(n.encode(), v.encode()) for n, v in exc.headers], head=head)

    async def _find(self, path: str, handler, authorization: str | None):
        """The stored document; for a gem packyard does not have, the upstream's (if one is configured)."""
        upstream = self.upstream
        if upstream is not None:
            if authorization is None and not self.reader.registry.settings.private:
                warm = upstream.warm(path[1:])
                if warm is not None:
                    return warm
            if path == "/versions":
                await upstream.versions.refresh_if_due()

        def find(io: bool):
            return handler(self.reader.identify(authorization), path, io)

        try:
            # anonymous and in the memo: no thread hop, no database (checking a token reads it)
            rep = _memo_only(find) if authorization is None else MISS
            if rep is MISS:
                rep = await anyio.to_thread.run_sync(find, True)
        except NotFound:
            if upstream is None or (proxied := await self._from_upstream(path, authorization)) is None:
                raise
            return proxied
        if rep is None and upstream is not None:
            return await self._from_upstream(path, authorization)
        return rep

    async def _from_upstream(self, path: str, authorization: str | None):
        """The upstream's answer for a gem path packyard has nothing for (None: upstream has none,
        or the name resolves locally)."""
        upstream = self.upstream
        assert upstream is not None
        if authorization is None:
            identity = self.reader.identify(None)
        else:
            identity = await anyio.to_thread.run_sync(self.reader.identify, authorization)
        if path.startswith("/info/"):
            return await upstream.info(identity, path[len("/info/"):])
        if path.startswith(QUICK_PREFIX) and path.endswith(QUICK_SUFFIX):
            name = path[len(QUICK_PREFIX):-len(QUICK_SUFFIX)]
            return await upstream.quick_spec(identity, name) if _safe_name(name) else None
        if path.startswith("/gems/") and path.endswith(".gem"):
            name = path[len("/gems/"):-len(".gem")]
            return await upstream.gem(identity, name) if _safe_name(name) else None
        return None

    def _route(self, path: str):
        """(route template, the lookup for `path` as `(identity, path, io) -> representation | None`), or None."""
        reader = self.reader
        if path == "/versions":
            return "/versions", lambda identity, p, io: reader.versions(identity, io)
        if path == "/names":
            return "/names", lambda identity, p, io: reader.names(identity, io)
        if path.startswith("/info/") and _safe_name(path[len("/info/"):]):
            return "/info/{gem}", lambda identity, p, io: reader.info(identity, p[len("/info/"):], io)
        if path in SPECS_FILES:
            return SPECS_ROUTES[path], lambda identity, p, io: reader.specs(identity, SPECS_FILES[p], io)
        if path.startswith(QUICK_PREFIX) and path.endswith(QUICK_SUFFIX):
            name = path[len(QUICK_PREFIX):-len(QUICK_SUFFIX)]
            if _safe_name(name):
                return QUICK_ROUTE, lambda identity, p, io: reader.quick_spec(identity, name, io)
            return QUICK_ROUTE, lambda identity, p, io: None
        if path.startswith("/gems/") and path.endswith(".gem"):
            name = path[len("/gems/"):-len(".gem")]
            if _safe_name(name):
                return "/gems/{gem}.gem", lambda identity, p, io: reader.gem_file(identity, name, io)
            return "/gems/{gem}.gem", lambda identity, p, io: None
        return None
