"""Serial changes pushed to this process over Redis pub/sub, so a read checks only memory.

Each writer publishes `<ecosystem> <serial>` on the registry's channel after its commit (see
`RedisSerialBoard.publish`); every worker process keeps one subscription, run by an asyncio task on
its event loop. The subscription is an asyncio protocol, so a message is applied inside the I/O
callback that received it, before any request task created in the same or a later loop iteration
runs: a notification that reached this process's socket before a request is applied before that
request reads the serial. The writer makes one more round trip after publishing, so the message is
in every subscriber's socket before the writer answers its client (see `RedisSerialBoard.publish`).

The feed is `live` only while subscribed and heard from (a PING every `HEARTBEAT` seconds must be
answered within another); after every (re)subscription it re-reads each ecosystem's serial
(messages may have been missed meanwhile) before it calls itself live. While it is not live the
board asks Redis or the journal on every read, as without a feed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from urllib.parse import unquote, urlparse

log = logging.getLogger("packyard.redis")

HEARTBEAT = 1.0
CONNECT_TIMEOUT = 1.0
MAX_BACKOFF = 2.0


class RespError(Exception):
    """Redis answered an error (e.g. a wrong password)."""


def _command(*parts: str) -> bytes:
    encoded = [part.encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in encoded)


def parse_replies(buffer: bytearray) -> list[list[bytes | int] | bytes | int]:
    """Take every complete RESP2 reply off the front of `buffer` (what a subscribed connection
    receives: arrays of bulk strings and integers, `+OK` to AUTH, errors)."""
    replies: list = []
    while True:
        reply, used = _parse_one(buffer, 0)
        if used == 0:
            return replies
        del buffer[:used]
        replies.append(reply)


def _parse_one(buffer: bytearray, start: int) -> tuple[object, int]:
    """(reply, bytes used from `start`); 0 bytes used: not complete yet."""
    end = buffer.find(b"\r\n", start)
    if end < 0:
        return None, 0
    kind, line = buffer[start:start + 1], bytes(buffer[start + 1:end])
    after = end + 2
    if kind == b"+":
        return line, after - start
    if kind == b"-":
        raise RespError(line.decode("utf-8", "replace"))
    if kind == b":":
        return int(line), after - start
    if kind == b"$":
        length = int(line)
        if length < 0:
            return None, after - start
        if len(buffer) < after + length + 2:
            return None, 0
        return bytes(buffer[after:after + length]), after + length + 2 - start
    if kind == b"*":
        items, position = [], after
        for _ in range(max(int(line), 0)):
            item, used = _parse_one(buffer, position)
            if used == 0:
                return None, 0
            items.append(item)
            position += used
        return items, position - start
    raise RespError(f"unexpected reply from Redis: {bytes(buffer[start:end])!r}")


class _Subscription(asyncio.Protocol):
    def __init__(self, channel: bytes, on_message: Callable[[bytes], None]):
        self.channel = channel
        self.on_message = on_message
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.subscribed = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.heard = time.monotonic()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.heard = time.monotonic()
        self.buffer += data
        try:
            replies = parse_replies(self.buffer)
        except (RespError, ValueError) as exc:
            self._fail(exc)
            return
        for reply in replies:
            if not isinstance(reply, list) or not reply:
                continue  # +OK (AUTH)
            if reply[0] == b"message" and len(reply) == 3 and reply[1] == self.channel:
                self.on_message(reply[2])  # type: ignore[arg-type]
            elif reply[0] == b"subscribe" and not self.subscribed.done():
                self.subscribed.set_result(True)

    def _fail(self, exc: BaseException) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError("Redis closed the subscription"))
        if not self.closed.done():
            self.closed.set_result(None)


class SerialFeed:
    """One subscription per process; `on_message(payload)` applies a notification, `resync()`
    (called in a thread after each subscription) re-reads every serial."""

    def __init__(self, url: str, channel: str, on_message: Callable[[bytes], None], resync: Callable[[], None],
                 on_gap: Callable[[], None]):
        self.url = urlparse(url)
        self.channel = channel.encode()
        self.on_message = on_message
        self.resync = resync
        self.on_gap = on_gap  # called when the feed stops being live
        self.live = False
        self._task: asyncio.Task | None = None
        self._first_try: asyncio.Event | None = None  # set once the first subscription is live or has failed

    @property
    def supported(self) -> bool:
        return self.url.scheme in ("redis", "rediss", "unix")

    def start(self) -> None:
        """Start following on the running loop (call from it, e.g. at lifespan start-up)."""
        if self._task is None and self.supported:
            self._first_try = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._follow())

    async def wait_live(self, timeout: float) -> bool:
        """Wait (at most `timeout` seconds) for the first subscription to go live or fail: live?"""
        if self._first_try is not None:
            try:
                await asyncio.wait_for(self._first_try.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return self.live

    async def stop(self) -> None:
        self.live = False
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _follow(self) -> None:
        backoff = 0.05
        while True:
            try:
                await self._subscribe_and_listen()
                backoff = 0.05  # it was live: reconnect at once
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, reset, timed out, an error reply
                log.debug("serial feed: %s: %s", type(exc).__name__, exc)
            finally:
                self.live = False
                if self._first_try is not None:
                    self._first_try.set()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _connect(self) -> tuple[asyncio.Transport, _Subscription]:
        loop = asyncio.get_running_loop()
        protocol = lambda: _Subscription(self.channel, self.on_message)  # noqa: E731
        if self.url.scheme == "unix":
            return await asyncio.wait_for(loop.create_unix_connection(protocol, self.url.path), CONNECT_TIMEOUT)
        tls = ssl.create_default_context() if self.url.scheme == "rediss" else None
        return await asyncio.wait_for(
            loop.create_connection(protocol, self.url.hostname or "127.0.0.1", self.url.port or 6379, ssl=tls), CONNECT_TIMEOUT)

    async def _subscribe_and_listen(self) -> None:
        transport, subscription = await self._connect()
        try:
            if self.url.password is not None:
                credentials = [unquote(self.url.username)] if self.url.username else []
                transport.write(_command("AUTH", *credentials, unquote(self.url.password)))
            transport.write(_command("SUBSCRIBE", self.channel.decode()))
            await asyncio.wait_for(asyncio.shield(subscription.subscribed), CONNECT_TIMEOUT)
            # subscribed: from now on no notification is missed; what was published before is
            # in the serials resync reads (every writer commits before it publishes)
            await asyncio.to_thread(self.resync)
            self.live = True
            if self._first_try is not None:
                self._first_try.set()
            log.info("following serial changes over Redis pub/sub")
            while not subscription.closed.done():
                transport.write(_command("PING"))
                await asyncio.wait([subscription.closed], timeout=HEARTBEAT)
                if time.monotonic() - subscription.heard > 2 * HEARTBEAT:
                    raise TimeoutError("Redis did not answer the subscription's PING")
        finally:
            if self.live:
                self.live = False
                self.on_gap()
            transport.close()
