"""The ASGI wrapper around the whole app that counts every request and writes its access-log line.

Per request it costs a context-variable set, a wrapped `send`, a few dict increments and, with
the JSON access log on, one log line (see docs/observability.md for the measured figures).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from packyard.observability import access_log
from packyard.observability.metrics import RECORDER, Recorder
from packyard.observability.request_context import CURRENT, RequestRecord

if TYPE_CHECKING:
    from packyard.registry import Registry

UNMATCHED = "unmatched"  # no route matched (a 404 of any path): one label value, whatever the path
CORE = "core"  # the ecosystem label of everything that is not an adapter's (management API, /metrics, ...)


class ObservedApp:
    def __init__(self, app: ASGIApp, *, ecosystems: Collection[str], recorder: Recorder | None, metrics_dir: Path | None,
                 access_log_on: bool):
        self.app = app
        self.ecosystems = frozenset(ecosystems)
        self.recorder = recorder
        self.metrics_dir = metrics_dir
        self.access_log_on = access_log_on
        self.ids = access_log.RequestIds()
        if access_log_on:
            access_log.configure()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = user_agent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = access_log.sane_request_id(value)
            elif name == b"user-agent":
                user_agent = value
        if request_id is None:
            request_id = self.ids.new()
        observation = _Observation(send, (b"x-request-id", request_id.encode()))
        token = CURRENT.set(observation)
        try:
            await self.app(scope, receive, observation)
        finally:
            CURRENT.reset(token)
            seconds = time.perf_counter() - started
            path: str = scope["path"]
            end = path.find("/", 1)
            ecosystem = path[1:end] if end > 0 else path[1:]
            if ecosystem not in self.ecosystems:
                ecosystem = CORE
            route = observation.route or _framework_route(scope)
            if self.recorder is not None:
                self.recorder.request(ecosystem, route, scope["method"], observation.status, seconds, observation.sent)
                self.recorder.start_flushing(self.metrics_dir)
            if self.access_log_on:
                client = scope.get("client")
                access_log.write(
                    request_id=request_id, method=scope["method"], path=path, query=scope.get("query_string", b""),
                    status=observation.status, seconds=seconds, sent=observation.sent, user=observation.user,
                    ecosystem=ecosystem, route=route, remote=client[0] if client else None, user_agent=user_agent,
                )


class _Observation(RequestRecord):
    """One request's record (what it noted about itself) and its wrapped `send`, in one object:
    the status and body bytes it answered, the X-Request-ID added to its headers."""

    __slots__ = ("status", "sent", "_send", "_id_header")

    def __init__(self, send: Send, id_header: tuple[bytes, bytes]):
        self.route = self.user = None  # RequestRecord's, set here without a second call
        self.status = 500  # until the app answers (it raised before answering)
        self.sent = 0
        self._send = send
        self._id_header = id_header

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            self.sent += len(message.get("body", b""))
        elif kind == "http.response.start":
            self.status = message["status"]
            message["headers"] = [*message.get("headers", ()), self._id_header]
        await self._send(message)


def _framework_route(scope: Scope) -> str:
    """The template of the Starlette/FastAPI route that matched (the router puts it in the scope)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def observe(app: ASGIApp, registry: Registry) -> ASGIApp:
    """`app` wrapped as the settings say (unwrapped with metrics and access log both off)."""
    settings = registry.settings
    access_log_on = settings.access_log == "json"
    if not settings.metrics and not access_log_on:
        return app
    recorder = RECORDER if settings.metrics else None
    if recorder is not None:
        recorder.set_source("documents", registry.documents.memo_counts)
    return ObservedApp(app, ecosystems=registry.adapters, recorder=recorder, metrics_dir=settings.metrics_dir, access_log_on=access_log_on)
