"""The serial feed (documents/serial_feed.py): its RESP reader on partial input, and a real
subscription to Redis that applies notifications and re-reads serials before it calls itself live."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

import pytest
import redis

from packyard.documents.serial_feed import RespError, SerialFeed, parse_replies
from tests.support.backends import LOCAL_REDIS_URL, TEST_REDIS_URL

REDIS_URL = TEST_REDIS_URL or LOCAL_REDIS_URL


def test_replies_are_taken_off_the_buffer_only_when_complete():
    message = b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$6\r\npypi 5\r\n"
    buffer = bytearray(message[:-3])
    assert parse_replies(buffer) == [] and bytes(buffer) == message[:-3]
    buffer += message[-3:] + b"*2\r\n$4\r\npong\r\n$0\r\n\r\n+OK\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"
    assert parse_replies(buffer) == [[b"message", b"c", b"pypi 5"], [b"pong", b""], b"OK", [b"subscribe", b"c", 1]]
    assert buffer == bytearray()


def test_an_error_reply_raises():
    with pytest.raises(RespError, match="WRONGPASS"):
        parse_replies(bytearray(b"-WRONGPASS invalid username-password pair\r\n"))


def test_the_feed_is_live_only_after_resync_and_applies_every_notification():
    channel = f"packyard-test:{uuid.uuid4().hex}:serials"
    received: list[bytes] = []
    resyncs: list[bool] = []

    async def scenario() -> None:
        feed = SerialFeed(REDIS_URL, channel, received.append, lambda: resyncs.append(True), lambda: None)
        feed.start()
        assert await feed.wait_live(10) and resyncs == [True]  # re-read the serials before trusting the feed
        client = redis.Redis.from_url(REDIS_URL)
        assert await asyncio.to_thread(client.publish, channel, b"pypi 7\n7 simple/a/index.html") == 1
        for _ in range(200):
            if received:
                break
            await asyncio.sleep(0.01)
        assert received == [b"pypi 7\n7 simple/a/index.html"]
        await feed.stop()
        assert not feed.live

    asyncio.run(scenario())


def test_a_starting_worker_stops_waiting_for_the_feed_when_its_first_try_fails():
    """A worker waits for its feed before it loads the hot documents (app.py); with Redis refusing
    connections it must not wait out the whole timeout."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens once the socket is closed

    async def scenario() -> float:
        feed = SerialFeed(f"redis://127.0.0.1:{port}/0", "packyard-test:refused", lambda _: None, lambda: None, lambda: None)
        feed.start()
        started = time.monotonic()
        assert not await feed.wait_live(60)
        waited = time.monotonic() - started
        await feed.stop()
        return waited

    assert asyncio.run(scenario()) < 30
