"""Custom HTTP reason phrases for uvicorn.

Some clients print only the status line of an error (twine shows ``400 <reason>``, never the
body), so an app may add ``"reason": "<text>"`` to its ``http.response.start`` message.
uvicorn ignores that key; the protocol classes here write it into the status line.  They
work for both of uvicorn's HTTP implementations by rewriting the first line of the single
``transport.write`` that carries the status line and headers.  The text must be Latin-1 on
one line (callers sanitize it); anything else falls back to the standard phrase.
"""

from __future__ import annotations

from uvicorn.protocols.http.h11_impl import H11Protocol


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
    reason = message.get("reason") if message.get("type") == "http.response.start" else None
    if not isinstance(reason, str) or not reason:
        return None
    try:
        encoded = reason.encode("latin-1")
    except UnicodeEncodeError:
        return None
    if b"\r" in encoded or b"\n" in encoded:
        return None
    return encoded


class _ReasonCycleMixin:
    async def send(self, message) -> None:
        reason = _encode_reason(message)
        if reason is None:
            await super().send(message)
            return
        real = self.transport
        self.transport = _StatusLineRewriter(real, reason)
        try:
            await super().send(message)
        finally:
            self.transport = real


_cycle_classes: dict[type, type] = {}


def _upgrade_cycle(protocol) -> None:
    """Give the request cycle just created by uvicorn the reason-phrase behaviour."""
    cycle = getattr(protocol, "cycle", None)
    if cycle is None or isinstance(cycle, _ReasonCycleMixin):
        return
    base = type(cycle)
    upgraded = _cycle_classes.get(base)
    if upgraded is None:
        upgraded = _cycle_classes[base] = type(f"Reason{base.__name__}", (_ReasonCycleMixin, base), {})
    cycle.__class__ = upgraded  # before its task first runs: the task was only scheduled


class ReasonH11Protocol(H11Protocol):
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

    class ReasonHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[no-redef]
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            _upgrade_cycle(self)


def protocol_class() -> type:
    """The HTTP protocol class for ``uvicorn.run(http=...)``: httptools when installed, like uvicorn's "auto"."""
    if HttpToolsProtocol is not None:
        return ReasonHttpToolsProtocol
    return ReasonH11Protocol
