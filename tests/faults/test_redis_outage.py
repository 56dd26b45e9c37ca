"""Redis cut for real (a proxy in front of it refuses, then hangs): no request fails because of it.
Reads fall back to the database (cache misses, serials from the journal), writes go on and show at
once, a hung Redis does not cost a timeout per request (circuit breaker), and when Redis returns
the server uses it again — with nothing published during the outage hidden by a stale serial.

Runs in both passes: Redis is always there to put a proxy in front of (PACKYARD_TEST_REDIS_URL,
else the local 127.0.0.1:6379), over the pass's database."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx

from tests.faults.faultkit import FAST_FAILING, SCOPES, behind_proxy, gem_push, proxy_for
from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.rubygems.gemtools import craft_gem
from tests.support.backends import LOCAL_REDIS_URL, TEST_REDIS_URL, new_backend
from tests.support.server import start_server

REDIS_URL = TEST_REDIS_URL or LOCAL_REDIS_URL


def _everything_answers(server, versions: list[str]) -> None:
    """Each read shows every version published so far, on whichever worker answers (several tries)."""
    for _ in range(6):
        page = httpx.get(f"{server.url}/pypi/simple/cached/", timeout=30)
        assert page.status_code == 200, page.text
        for version in versions:
            assert f"cached-{version}-py3-none-any.whl" in page.text, (version, page.text)
        info = httpx.get(f"{server.url}/rubygems/info/cached-gem", timeout=30)
        assert info.status_code == 200
        for version in versions:
            assert f"\n{version}.0 " in "\n" + info.text, (version, info.text)
        for path in ("/pypi/simple/", "/pypi/pypi/cached/json", "/rubygems/versions", "/rubygems/specs.4.8.gz", "/api/v1/packages"):
            answer = httpx.get(server.url + path, timeout=30)
            assert answer.status_code == 200, (path, answer.status_code, answer.text)


def _publisher(server, tmp_path, name: str):
    """publish(version): a wheel of `name` and a gem `<name>-gem` of `<version>.0`, both acknowledged."""
    token = server.mint_token(*SCOPES)
    dists = tmp_path / "dists"
    dists.mkdir()

    def publish(version: str) -> None:
        wheel = build_wheel(dists, name, version)
        assert http_upload(server.url, token, wheel, name, version).status_code == 200
        assert gem_push(server.url, token, craft_gem(f"{name}-gem", f"{version}.0")).status_code == 200

    return publish


@contextmanager
def _behind_redis_and_database_proxies(postgres_backend, tmp_path, workers: int):
    """A server whose Redis and database connections each pass through a proxy the test can cut:
    (server, redis_proxy, database_proxy); everything reopened and stopped afterwards."""
    backend = dataclasses.replace(postgres_backend, redis_url=REDIS_URL)
    redis_proxy, database_proxy = proxy_for(backend.redis_url), proxy_for(backend.database_url)
    server = start_server(tmp_path / "server", backend=behind_proxy(backend, database=database_proxy, redis=redis_proxy),
                          workers=workers, extra_env=FAST_FAILING)
    try:
        yield server, redis_proxy, database_proxy
    finally:
        redis_proxy.open()
        database_proxy.open()
        server.stop()
        redis_proxy.stop()
        database_proxy.stop()


def test_a_dead_or_hung_redis_fails_no_request_and_is_used_again_when_back(redis_cut, tmp_path):
    server, proxy = redis_cut
    publish = _publisher(server, tmp_path, "cached")

    publish("1.0")
    _everything_answers(server, ["1.0"])  # the caches are warm

    proxy.close()  # refused
    publish("1.1")
    _everything_answers(server, ["1.0", "1.1"])
    ready = httpx.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 200 and "redis" in ready.json()["degraded"]

    proxy.hang()  # accepted, never answered: each call would wait for its timeout
    started = time.monotonic()
    publish("1.2")
    _everything_answers(server, ["1.0", "1.1", "1.2"])
    # 2 uploads and 42 reads; with a timeout paid per request this takes over 40 s
    assert time.monotonic() - started < 30

    proxy.open()
    deadline = time.monotonic() + 60
    # each worker whose breaker opened probes again and closes it
    while server.log().count("Redis is reachable again") < server.log().count("Redis is unreachable"):
        assert time.monotonic() < deadline, server.log()[-3000:]
        httpx.get(f"{server.url}/pypi/simple/cached/", timeout=30)
        time.sleep(0.2)
    # Redis still holds the serial and pages of before the outage: they must not come back
    _everything_answers(server, ["1.0", "1.1", "1.2"])
    publish("1.3")
    _everything_answers(server, ["1.0", "1.1", "1.2", "1.3"])
    ready = httpx.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 200 and "degraded" not in ready.json()
    log = server.log()
    assert "Traceback" not in log and "Redis is reachable again" in log


def test_a_process_that_never_saw_the_outage_does_not_serve_what_redis_missed(tmp_path):
    """Two servers on one database and one Redis. While Redis is away, A publishes and B is not
    asked anything, so B's own Redis calls never fail; only its serial feed saw the outage. When
    Redis is back, B must not serve Redis's copies of before the outage (B repairs them before it
    trusts Redis), and a change A makes while its breaker still waits out a cool-down must reach
    Redis all the same (A tries Redis at once on a write)."""
    backend = dataclasses.replace(new_backend(), redis_url=REDIS_URL)
    proxy = proxy_for(backend.redis_url)
    proxied = behind_proxy(backend, redis=proxy)
    data_dir = tmp_path / "shared"
    a = start_server(data_dir, backend=proxied, log_path=tmp_path / "a.log")
    b = start_server(data_dir, backend=proxied, log_path=tmp_path / "b.log")
    token = a.mint_token(*SCOPES)
    dists = tmp_path / "dists"
    dists.mkdir()

    def publish(version: str) -> None:
        wheel = build_wheel(dists, "unseen", version)
        assert http_upload(a.url, token, wheel, "unseen", version).status_code == 200

    def page(server) -> str:
        answer = httpx.get(f"{server.url}/pypi/simple/unseen/", timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.text

    try:
        publish("1.0")
        assert "unseen-1.0-" in page(b)
        proxy.close()
        publish("2.0")
        for _ in range(12):  # A's failed probes double its cool-down (1, 2, 4 s...)
            assert "unseen-2.0-" in page(a)
            time.sleep(0.3)
        proxy.open()
        assert "unseen-2.0-" in page(b)  # before B's feed resubscribes (it backs off up to 2 s)
        publish("3.0")  # A's breaker is still open
        shown = page(b)
        assert "unseen-2.0-" in shown and "unseen-3.0-" in shown, shown
    finally:
        proxy.open()
        a.stop()
        b.stop()
        proxy.stop()
        backend.drop()


def test_redis_back_while_the_database_is_down_serves_and_repairs_once_the_database_returns(postgres_backend, tmp_path):
    """Redis goes away and a change is made (its write-through to Redis fails); then the database
    goes away and Redis comes back. Redis's copies are repaired from the rows, which needs the
    database: until it returns, reads go on from what Redis and the memo hold (200, never a 503
    for a page that exists), and once it is back the change shows on every read."""
    with _behind_redis_and_database_proxies(postgres_backend, tmp_path, workers=2) as (server, redis_proxy, database_proxy):
        publish = _publisher(server, tmp_path, "doubled")

        def reads() -> list[httpx.Response]:
            return [httpx.get(server.url + path, timeout=30)
                    for path in ("/pypi/simple/doubled/", "/rubygems/info/doubled-gem", "/rubygems/versions")]

        def shows(version: str) -> bool:
            page, info, versions = reads()
            return (all(r.status_code == 200 for r in (page, info, versions)) and f"doubled-{version}-py3" in page.text
                    and f"\n{version}.0 " in "\n" + info.text and f"{version}.0" in versions.text)

        publish("1.0")
        assert all(r.status_code == 200 for r in reads())
        redis_proxy.close()
        publish("1.1")
        for _ in range(6):  # both workers read the rows, and their breakers open
            assert shows("1.1")

        database_proxy.close()
        redis_proxy.open()
        deadline = time.monotonic() + 60
        while True:  # every worker whose breaker opened probes Redis and uses it again
            for answer in reads():
                assert answer.status_code == 200, (answer.url, answer.status_code, answer.text)
            assert shows("1.0")
            log = server.log()
            if log.count("Redis is reachable again") >= log.count("Redis is unreachable") > 0:
                break
            assert time.monotonic() < deadline, log[-3000:]
            time.sleep(0.2)
        for _ in range(10):  # and reads after the recovery too, while the repair cannot run
            assert all(r.status_code == 200 for r in reads()), [(r.url, r.status_code, r.text) for r in reads()]

        database_proxy.open()
        deadline = time.monotonic() + 30
        while not all(shows("1.1") for _ in range(6)):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert "Traceback" not in server.log()


def test_a_page_a_worker_never_read_is_served_when_redis_is_back_before_the_database(postgres_backend, tmp_path):
    """Redis goes away, so the worker's breaker opens; then the database goes away and Redis comes
    back. A page this worker never read (nothing in its memory) is served from Redis's copy or its
    file copy at once: not a 503 until the breaker's next probe, up to 8 s later."""
    with _behind_redis_and_database_proxies(postgres_backend, tmp_path, workers=1) as (server, redis_proxy, database_proxy):
        publish = _publisher(server, tmp_path, "unread")
        publish("1.0")  # stored in the database and in Redis; nobody reads it
        redis_proxy.close()
        deadline = time.monotonic() + 30
        while "Redis is unreachable" not in server.log():  # the worker's serial feed trips its breaker
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.1)
        database_proxy.close()
        redis_proxy.open()
        for path in ("/pypi/simple/unread/", "/rubygems/info/unread-gem"):
            answer = httpx.get(server.url + path, timeout=30)
            assert answer.status_code == 200, (path, answer.status_code, answer.text)
            assert "1.0" in answer.text


def test_a_read_waiting_on_the_database_never_holds_up_the_workers_other_requests(postgres_backend, tmp_path):
    """With Redis away a worker learns the serial from the journal. A read asks for it from a
    thread, never on the event loop: with the database hung too, the worker answers its other
    requests (here /healthz) while that read waits, not once the database answers."""
    with _behind_redis_and_database_proxies(postgres_backend, tmp_path, workers=1) as (server, redis_proxy, database_proxy):
        publish = _publisher(server, tmp_path, "waiting")
        publish("1.0")
        redis_proxy.close()
        deadline = time.monotonic() + 30
        while "Redis is unreachable" not in server.log():  # the worker's serial feed trips its breaker
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.1)
        assert httpx.get(server.url + "/pypi/simple/waiting/", timeout=30).status_code == 200

        database_proxy.hang()
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(httpx.get, server.url + "/pypi/simple/waiting/", timeout=60)
            time.sleep(0.5)
            assert not waiting.done()  # it waits for the journal's serial
            started = time.monotonic()
            assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
            assert time.monotonic() - started < 1
            database_proxy.open()
            answer = waiting.result()
        assert answer.status_code == 200 and "waiting-1.0-py3" in answer.text, (answer.status_code, answer.text)
