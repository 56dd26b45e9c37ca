"""The protocol's hot path (`packyard/http/hot_reads.py`) answers exactly as the app would.

Each request is fed to packyard's uvicorn protocol twice, on the same app and the same stored
documents: once with the adapters' hot reads installed and once without them (every request then
runs the ASGI app), and the two answers must be the same bytes. Requests the hot path may answer
must be answered while their bytes are parsed, with no task started; the others must start one.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import httpx
import pytest

from packyard.http import hot_reads
from tests.faults.faultkit import gem_push
from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.rubygems.gemtools import craft_gem
from tests.support.in_process_http import Connection
from tests.support.server import RunningServer

T = TypeVar("T")
JSON = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"  # pip's


def raw_request(path: str, *headers: str, method: str = "GET", version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@pytest.fixture(scope="module")
def published(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from packyard.app import create_app

    token = server.mint_token("pypi:package:*:write", "rubygems:gem:*:write", name="hot")
    wheel = build_wheel(tmp_path_factory.mktemp("hot"), "hot-pkg", "1.0")
    assert http_upload(server.url, token, wheel, "hot-pkg", "1.0").status_code == 200
    assert gem_push(server.url, token, craft_gem("hotgem", "1.0.0")).status_code == 200
    for accept in (JSON, "text/html"):  # the root listing is rendered after the change, by its next read
        httpx.get(server.url + "/pypi/simple/", headers={"Accept": accept}, timeout=30).raise_for_status()
    registry = server.registry()
    app = create_app(registry=registry)
    yield {"app": app, "registry": registry, "wheel": wheel.name, "offers": dict(hot_reads.TABLE)}
    hot_reads.install({}, None)


def served(published: dict, run: Callable[[], Awaitable[T]]) -> T:
    """`run()` on a new event loop with the registry's serial feed live, as a worker's lifespan has
    it (PostgreSQL + Redis): a read on the event loop validates its memo by what the feed pushed,
    and without a live feed leaves the serial's round trip to the app's thread."""
    async def main() -> T:
        feed = published["registry"].serials.feed
        if feed is not None:
            feed.start()
            assert await feed.wait_live(10), "the serial feed did not go live"
        try:
            return await run()
        finally:
            if feed is not None:
                await feed.stop()

    return asyncio.run(main())


def answer(published: dict, raw: bytes, hot: bool) -> tuple[bytes, bool]:
    """The answer to `raw` on a new connection, the hot path on or off, once a first request filled the memos."""
    hot_reads.install(published["offers"] if hot else {}, None)

    async def run() -> tuple[bytes, bool]:
        warming = Connection(published["app"])  # a first read may need I/O, which the app does
        await warming.send(raw)
        warming.close()
        connection = Connection(published["app"])
        try:
            return await connection.send(raw)
        finally:
            connection.close()

    return served(published, run)


def etag_of(published: dict, path: str, *headers: str) -> str:
    written, _ = answer(published, raw_request(path, *headers), hot=False)
    head = written.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return next(line.split(": ", 1)[1] for line in head.split("\r\n") if line.lower().startswith("etag: "))


def hot_cases(published: dict) -> list[bytes]:
    page_etag = etag_of(published, "/pypi/simple/hot-pkg/", f"Accept: {JSON}")
    info_etag = etag_of(published, "/rubygems/info/hotgem")
    wheel = published["wheel"]
    return [
        raw_request("/pypi/simple/", f"Accept: {JSON}"),
        raw_request("/pypi/simple/"),
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}"),
        raw_request("/pypi/simple/hot-pkg/", "Accept: text/html"),
        raw_request("/pypi/simple/hot-pkg/", "Accept: */*", method="HEAD"),
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", f"If-None-Match: {page_etag}"),
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", f"If-None-Match: W/{page_etag}, \"other\""),
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", 'If-None-Match: "other"'),
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", "Range: bytes=0-9"),
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", "Range: bytes=-5"),
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", "Range: bytes=100000-"),  # PyPI: 416
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", "Range: bytes=0-1,4-5"),  # several: the whole body
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", "Range: bytes=0-9", 'If-Range: "stale"'),
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", "Connection: close"),
        raw_request("/pypi/simple/hot-pkg/", f"Accept: {JSON}", version="1.0"),
        raw_request(f"/pypi/files/hot-pkg/{wheel}.metadata"),
        raw_request(f"/pypi/files/hot-pkg/{wheel}"),  # small: kept in memory after its first read
        raw_request(f"/pypi/files/hot-pkg/{wheel}", "Range: bytes=10-19"),
        raw_request("/rubygems/versions"),
        raw_request("/rubygems/versions", "Range: bytes=20-"),
        raw_request("/rubygems/versions", "Range: bytes=1000000-"),  # the compact index: the whole body, 200
        raw_request("/rubygems/info/hotgem"),
        raw_request("/rubygems/info/hotgem", f"If-None-Match: {info_etag}"),
        raw_request("/rubygems/names"),
        raw_request("/rubygems/specs.4.8.gz"),
        raw_request("/rubygems/quick/Marshal.4.8/hotgem-1.0.0.gemspec.rz"),
    ]


def app_cases(published: dict) -> list[bytes]:
    """Requests the hot path must leave to the app."""
    return [
        raw_request("/pypi/simple/hot-pkg/", "Authorization: Basic X190b2tlbl9fOnB5cGktbm9wZQ=="),
        raw_request("/pypi/simple/hot-pkg/?format=application/vnd.pypi.simple.v1+json"),
        raw_request("/pypi/simple/Hot_Pkg/"),  # not normalized: a redirect
        raw_request("/pypi/simple/hot%2Dpkg/"),
        raw_request("/pypi/simple/no-such-project/"),
        raw_request("/pypi/simple/hot-pkg"),
        raw_request("/pypi/simple/hot-pkg/", "Accept: application/json"),  # not acceptable: 406
        raw_request("/pypi/simple/hot-pkg/", "Content-Length: 2") + b"{}",
        raw_request("/pypi/simple/hot-pkg/", method="POST"),
        raw_request("/pypi/pypi/hot-pkg/json"),
        raw_request("/rubygems/gems/hotgem-1.0.0.gem"),  # a blob: streamed by the app
        raw_request("/rubygems/info/no-such-gem"),
        raw_request("/rubygems/"),
        raw_request("/api/v1/packages"),
    ]


def test_the_hot_path_answers_as_the_app_does(published):
    for raw in hot_cases(published):
        expected, _ = answer(published, raw, hot=False)
        got, hot = answer(published, raw, hot=True)
        assert hot, f"not answered by the hot path: {raw!r}"
        assert got == expected, raw


def test_what_the_hot_path_cannot_answer_goes_to_the_app(published):
    for raw in app_cases(published):
        expected, _ = answer(published, raw, hot=False)
        got, hot = answer(published, raw, hot=True)
        assert not hot, f"answered by the hot path: {raw!r}"
        assert got.split(b"\r\n", 1)[0] == expected.split(b"\r\n", 1)[0], raw


def test_pipelined_requests_are_answered_in_order(published):
    """A hot request behind one the app is still answering waits for it (HTTP/1.1 answers in order)."""
    hot_reads.install(published["offers"], None)
    slow = raw_request("/pypi/simple/hot-pkg/", "Authorization: Basic X190b2tlbl9fOnB5cGktbm9wZQ==")  # to the app
    fast = raw_request("/rubygems/versions")

    async def run() -> bytes:
        connection = Connection(published["app"])
        await connection.send(fast)  # warm
        written, _ = await connection.send(slow + fast + fast)
        connection.close()
        return written

    written = served(published, run)
    assert re.findall(rb"\r\ncontent-type: ([^\r]+)", written) == [b"text/html; charset=utf-8"] + [b"text/plain; charset=utf-8"] * 2


def test_a_closed_connection_is_closed_after_a_hot_answer(published):
    _, hot = answer(published, raw_request("/rubygems/versions", "Connection: close"), hot=True)
    assert hot

    async def run() -> tuple[bytes, bool]:
        hot_reads.install(published["offers"], None)
        connection = Connection(published["app"])
        await connection.send(raw_request("/rubygems/versions"))
        written, _ = await connection.send(raw_request("/rubygems/versions", "Connection: close"))
        closed = connection.transport.closed
        connection.close()
        return written, closed

    written, closed = served(published, run)
    assert b"\r\nconnection: close\r\n" in written and closed



def test_a_lookup_that_fails_leaves_the_request_to_the_app(published, caplog):
    def broken(path, headers):
        raise OSError("disk error")

    offers = {**published["offers"], "rubygems": hot_reads.HotReads(broken, "full")}
    expected, _ = answer(published, raw_request("/rubygems/versions"), hot=False)
    hot_reads.install(offers, None)

    async def run() -> tuple[bytes, bool]:
        connection = Connection(published["app"])
        try:
            return await connection.send(raw_request("/rubygems/versions"))
        finally:
            connection.close()

    got, hot = served(published, run)
    assert not hot and got == expected
    assert "the hot path could not answer" in caplog.text


def test_hot_answers_are_counted_in_the_metrics(published):
    """Each hot answer is in the totals a scrape shows: by method and status, with its body bytes
    and its duration."""
    from packyard.observability.metrics import Recorder

    versions = raw_request("/rubygems/versions")
    etag = etag_of(published, "/rubygems/versions")
    recorder = Recorder()

    async def run() -> list[tuple[bytes, bool]]:
        connection = Connection(published["app"])
        await connection.send(versions)  # warm: a first read may need I/O, which the app does
        hot_reads.install(published["offers"], recorder)
        try:
            return [await connection.send(raw) for raw in
                    (versions, versions, versions, raw_request("/rubygems/versions", method="HEAD"),
                     raw_request("/rubygems/versions", f"If-None-Match: {etag}"),
                     raw_request("/rubygems/versions", "Range: bytes=0-9", method="HEAD"))]
        finally:
            hot_reads.install(published["offers"], None)
            connection.close()

    answers = served(published, run)
    assert all(hot for _, hot in answers)
    body_length = len(answers[0][0].split(b"\r\n\r\n", 1)[1])
    totals = recorder.totals()
    counters = {(name, tuple(labels)): value for name, labels, value in totals["counters"]}
    assert counters[("packyard_http_requests_total", ("rubygems", "/versions", "GET", "200"))] == 3
    assert counters[("packyard_http_requests_total", ("rubygems", "/versions", "HEAD", "200"))] == 1
    assert counters[("packyard_http_requests_total", ("rubygems", "/versions", "GET", "304"))] == 1
    assert counters[("packyard_http_requests_total", ("rubygems", "/versions", "HEAD", "206"))] == 1
    assert counters[("packyard_served_bytes_total", ("rubygems", "/versions"))] == 3 * body_length
    (buckets, seconds), = [(b, s) for name, labels, b, s in totals["histograms"]
                           if name == "packyard_read_duration_seconds" and labels == ["rubygems", "/versions"]]
    assert sum(buckets) == 6 and 0 < seconds < 5
