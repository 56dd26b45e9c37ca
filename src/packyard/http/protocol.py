"""packyard's uvicorn HTTP protocol: custom reason phrases, and where every request is observed.

Reason phrases: some clients print only the status line of an error (twine shows ``400 <reason>``,
never the body), so an app may add ``"reason": "<text>"`` to its ``http.response.start`` message.
uvicorn ignores that key; the request cycle here writes it into the status line, for both of
uvicorn's HTTP implementations, by rewriting the first line of the single ``transport.write`` that
carries the status line and headers. The text must be Latin-1 on one line (callers sanitize it);
anything else falls back to the standard phrase.

Observation: the same cycle times each request from the moment uvicorn has read its headers, keeps
its status and body bytes on uvicorn's own per-request object, and hands them to the process's
`Observer` (metrics, access log) when the last body message has gone, so nothing wraps the app or
its `send`. A response the app abandons midway (uvicorn then closes the connection) is not counted.

Hot path (httptools only): a request `hot_reads.answer` can answer from memory is answered here, as
soon as its headers are parsed, with no request cycle, task or ASGI app; it is timed and observed
the same way.
"""

from __future__ import annotations

import logging
from time import perf_counter

from uvicorn.protocols.http.h11_impl import H11Protocol

from packyard.http import hot_reads
from packyard.observability import observer

log = logging.getLogger("packyard.http")

HOT_JOIN_LIMIT = 64 * 1024  # a body up to this size goes out in the same write as its head


class _StatusLineRewriter:
    """A transport stand-in that replaces the reason phrase of the first line written."""

    def __init__(self, transport, reason: bytes) -> None:
        self._transport = transport
        self._reason = reason
        self._done = False

    def write(self, data: bytes) -> None:
        if not self._done:
            self._done = True
            line, sep, rest = bytes(data).partition(b"\r\n")
            parts = line.split(b" ", 2)
            if sep and len(parts) >= 2 and parts[0].startswith(b"HTTP/"):
                data = parts[0] + b" " + parts[1] + b" " + self._reason + sep + rest
        self._transport.write(data)

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


def _encode_reason(message: dict) -> bytes | None:
    reason = message.get("reason")
    if not isinstance(reason, str) or not reason:
        return None
    try:
        encoded = reason.encode("latin-1")
    except UnicodeEncodeError:
        return None
    if b"\r" in encoded or b"\n" in encoded:
        return None
    return encoded


class _PackyardCycle:
    """Mixed into uvicorn's RequestResponseCycle (`_upgrade_cycle`)."""

    packyard_started = 0.0  # perf_counter() when the cycle was made
    packyard_status = 500  # until the app answers (uvicorn answers 500 for an app that raised first)
    packyard_sent = 0  # response body bytes

    async def send(self, message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            watching = observer.OBSERVER
            if watching is None:
                await super().send(message)
                return
            sent = len(message.get("body", b""))
            if message.get("more_body", False) or self.response_complete:
                self.packyard_sent += sent
                await super().send(message)
                return
            try:
                await super().send(message)
            finally:  # most answers are one body message: then nothing was stored on the cycle
                watching.answered(self.scope, self.packyard_status, perf_counter() - self.packyard_started, self.packyard_sent + sent)
            return
        if kind == "http.response.start":
            self.packyard_status = message["status"]
            watching = observer.OBSERVER
            if watching is not None and watching.access_log_on:  # the id is the access-log line's
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", watching.request_id(self.scope))]
            reason = _encode_reason(message)
            if reason is not None:
                real = self.transport
                self.transport = _StatusLineRewriter(real, reason)
                try:
                    await super().send(message)
                finally:
                    self.transport = real
                return
        await super().send(message)


_cycle_classes: dict[type, type] = {}


def _upgrade_cycle(protocol) -> None:
    """Give the request cycle just created by uvicorn packyard's behaviour, and start its clock."""
    cycle = getattr(protocol, "cycle", None)
    if cycle is None or isinstance(cycle, _PackyardCycle):
        return
    base = type(cycle)
    upgraded = _cycle_classes.get(base)
    if upgraded is None:
        upgraded = _cycle_classes[base] = type(f"Packyard{base.__name__}", (_PackyardCycle, base), {})
    cycle.__class__ = upgraded  # before its task first runs: the task was only scheduled
    cycle.packyard_started = perf_counter()


class PackyardH11Protocol(H11Protocol):
    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        _upgrade_cycle(self)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request
        _upgrade_cycle(self)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: h11 only
    HttpToolsProtocol = None  # type: ignore[assignment,misc]
else:

    class PackyardHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[no-redef]
        packyard_hot = False  # the request being parsed was answered by the hot path

        def on_headers_complete(self) -> None:
            if hot_reads.TABLE and self._answer_hot():
                return
            super().on_headers_complete()  # makes the cycle (each of several pipelined ones in turn)
            _upgrade_cycle(self)

        def on_body(self, body: bytes) -> None:
            if not self.packyard_hot:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if self.packyard_hot:
                self.packyard_hot = False
                return
            super().on_message_complete()

        def _answer_hot(self) -> bool:
            """Answer from memory (`hot_reads.py`) and finish the request as uvicorn's cycle would."""
            started = perf_counter() if hot_reads.TIMED else 0.0
            cycle = self.cycle
            if (cycle is not None and not cycle.response_complete) or self.pipeline or self.flow.write_paused:
                return False  # answers go out in order: this one waits its turn in uvicorn's pipeline
            if self.root_path or self.parser.should_upgrade() or self.transport.is_closing():
                return False
            method = self.parser.get_method()
            try:
                found = hot_reads.answer(method, self.url, self.headers)
            except Exception:  # an adapter's lookup failed (a disk error, a bug): the app answers, as it would have
                log.warning("the hot path could not answer %r; the app will", self.url, exc_info=True)
                return False
            if found is None:
                return False
            self.packyard_hot = True
            status, header_lines, body, count, route, kind = found
            keep_alive = self.parser.should_keep_alive() and self.parser.get_http_version() != "1.0"
            head = [hot_reads.STATUS_LINES[status]]
            for name, value in self.server_state.default_headers:
                head += (name, b": ", value, b"\r\n")
            head.append(header_lines)
            head.append(b"\r\n" if keep_alive else b"connection: close\r\n\r\n")
            if len(body) <= HOT_JOIN_LIMIT:  # one write, one send()
                head.append(body)
                self.transport.write(b"".join(head))
            else:
                self.transport.write(b"".join(head))
                self.transport.write(body)
            self.server_state.total_requests += 1
            if count is not None:  # metrics on (observability/route_totals.py)
                count(route, kind, perf_counter() - started, len(body))
            if not keep_alive:
                self.transport.close()
            elif not self.transport.is_closing():  # as uvicorn's on_response_complete: wait for the next request
                self._unset_keepalive_if_required()
                self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)
            return True


def protocol_class() -> type:
    """The HTTP protocol class for ``uvicorn.run(http=...)``: httptools when installed, like uvicorn's "auto"."""
    if HttpToolsProtocol is not None:
        return PackyardHttpToolsProtocol
    return PackyardH11Protocol
