"""What this process does with every answered request: count it (metrics) and log it (access log).

packyard's uvicorn protocol (`http/protocol.py`) already sees every response message pass, so it
times the request, adds up its status and body bytes on uvicorn's own per-request object and, when
the last body message has gone, calls `Observer.answered` with what the app noted in the scope
(`request_context.py`). Nothing wraps the ASGI app or its `send`, and a read costs a few integer
additions on objects that exist anyway (docs/observability.md, "What it costs").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from packyard.observability import access_log
from packyard.observability.metrics import FASTEST, RECORDER, SECONDS_TOTAL, SENT, Recorder, bucket
from packyard.observability.request_context import ECOSYSTEM, REQUEST_ID, ROUTE, USER

if TYPE_CHECKING:
    from packyard.registry import Registry

UNMATCHED = "unmatched"  # no route matched (a 404 of any path): one label value, whatever the path
CORE = "core"  # the ecosystem label of everything that is not an adapter's (management API, /metrics, ...)


Answered = Callable[[dict[str, Any], int, float, int], None]  # (scope, status, seconds, body bytes sent)
CountKey = Callable[[tuple[str, str, str, int], float, int], None]  # ((ecosystem, route, method, status), seconds, sent)


class Observer:
    """`answered` is called once per request by the protocol; with metrics alone on, it is the
    `counter` closure itself: one call on the hot path (docs/observability.md, "What it costs")."""

    def __init__(self, *, recorder: Recorder | None, access_log_on: bool):
        self.access_log_on = access_log_on
        self.ids = access_log.RequestIds()
        self.recorder = recorder  # the hot path counts in it too (route_totals.py); None: metrics off
        self._count: Answered | None = counter(recorder) if recorder is not None else None
        if access_log_on:
            access_log.configure()
        elif self._count is not None:
            self.answered = self._count  # type: ignore[method-assign]

    def request_id(self, scope: dict[str, Any]) -> bytes:
        """The id of the access-log line, sent back as X-Request-ID: the client's when sane, else ours."""
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = access_log.sane_request_id(value)
                break
        if request_id is None:
            request_id = self.ids.new()
        scope[REQUEST_ID] = request_id
        return request_id.encode()

    def answered(self, scope: dict[str, Any], status: int, seconds: float, sent: int) -> None:
        """The last body message of the answer went to uvicorn (or the app raised before answering)."""
        if self._count is not None:
            self._count(scope, status, seconds, sent)
        if self.access_log_on:
            user_agent = None
            for name, value in scope["headers"]:
                if name == b"user-agent":
                    user_agent = value
            client = scope.get("client")
            access_log.write(
                request_id=scope.get(REQUEST_ID) or self.ids.new(), method=scope["method"], path=scope["path"],
                query=scope.get("query_string", b""), status=status, seconds=seconds, sent=sent, user=scope.get(USER),
                ecosystem=scope.get(ECOSYSTEM, CORE), route=scope.get(ROUTE) or _framework_route(scope),
                remote=client[0] if client else None, user_agent=user_agent,
            )


def key_counter(recorder: Recorder) -> CountKey:
    """Count one answered request in `recorder`'s totals: a dict lookup and three additions. A
    closure over the totals rather than a method, because it runs for every request: each call and
    attribute lookup saved shows (bench/metrics_overhead.py). The hot path counts by route instead
    (`route_totals.py`), with no key to build."""
    requests, entry_for = recorder.requests, recorder.entry

    def count_key(key: tuple[str, str, str, int], seconds: float, sent: int) -> None:
        entry = requests.get(key) or entry_for(key)  # an entry is never empty
        entry[SENT] += sent
        entry[1 if seconds <= FASTEST else bucket(seconds)] += 1
        entry[SECONDS_TOTAL] += seconds  # not entry[-1]: CPython's fast path for list items wants an index >= 0

    return count_key


def counter(recorder: Recorder) -> Answered:
    """Count one answered request, its key read from the scope's notes."""
    count_key = key_counter(recorder)

    def count(scope: dict[str, Any], status: int, seconds: float, sent: int) -> None:
        count_key((scope.get(ECOSYSTEM, CORE), scope.get(ROUTE) or _framework_route(scope), scope["method"], status), seconds, sent)

    return count


def _framework_route(scope: dict[str, Any]) -> str:
    """The template of the Starlette/FastAPI route that matched (the router puts it in the scope)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


OBSERVER: Observer | None = None  # this process's, set by `observe`; None: metrics and access log both off


def observe(registry: Registry) -> Observer | None:
    """Observe this process's requests as the settings say (`create_app` calls it)."""
    global OBSERVER
    settings = registry.settings
    access_log_on = settings.access_log == "json"
    if not settings.metrics and not access_log_on:
        OBSERVER = None
        return None
    recorder = RECORDER if settings.metrics else None
    if recorder is not None:
        recorder.set_source("documents", registry.documents.memo_counts)
    OBSERVER = Observer(recorder=recorder, access_log_on=access_log_on)
    return OBSERVER
