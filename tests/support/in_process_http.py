"""packyard's uvicorn protocol driven in this process, without sockets: raw request bytes in,
the bytes it writes out (tests/core/test_hot_reads.py; bench/metrics_overhead.py's CPU measure)."""

from __future__ import annotations

import asyncio


class Transport:
    """Enough of an asyncio transport for uvicorn's protocol: keeps what is written."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Connection:
    """One client connection to packyard's HTTP protocol (`packyard serve`'s) serving `app`."""

    def __init__(self, app, transport: Transport | None = None) -> None:
        import uvicorn
        from uvicorn.server import ServerState

        from packyard.http.protocol import protocol_class

        config = uvicorn.Config(app, http=protocol_class(), lifespan="off", access_log=False, log_level="warning")
        config.load()
        self.state = ServerState()
        self.transport = transport if transport is not None else Transport()
        self.protocol = config.http_protocol_class(config=config, server_state=self.state, app_state={})
        self.protocol.connection_made(self.transport)

    async def answer(self, raw: bytes) -> None:
        """Feed `raw` and wait until every request it holds is answered."""
        self.protocol.data_received(raw)
        await self._settle()

    async def send(self, raw: bytes) -> tuple[bytes, bool]:
        """(what the server wrote, whether it was written before any task ran: the hot path)."""
        self.protocol.data_received(raw)
        hot = not self.state.tasks and bool(self.transport.written)
        await self._settle()
        written = bytes(self.transport.written)
        self.transport.written.clear()
        return written, hot

    async def _settle(self) -> None:
        while self.state.tasks:  # a pipelined request starts its task when the one before is done
            await asyncio.gather(*list(self.state.tasks))
            await asyncio.sleep(0)  # the tasks' done callbacks, which leave `state.tasks`

    def close(self) -> None:
        self.protocol.connection_lost(None)
