"""GuardedRedis against a real Redis behind a TcpProxy: the fallback while it is down, one probe
per cool-down instead of a timeout per call, and recovery by itself."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from packyard.resilience.redis_guard import GuardedRedis
from tests.faults.faultkit import proxy_for
from tests.support.backends import TEST_REDIS_URL

REDIS_URL = TEST_REDIS_URL or "redis://127.0.0.1:6379/0"


def test_a_hung_redis_costs_one_timeout_per_cool_down_and_is_used_again_when_back():
    with proxy_for(REDIS_URL) as proxy:
        guard = GuardedRedis(f"redis://127.0.0.1:{proxy.port}/0", connect_timeout=0.2, timeout=0.2, cooldown=3)
        calls = []

        def ping(client):
            calls.append(1)
            return client.ping()

        assert guard.run(ping, "fallback") is True and guard.available

        proxy.hang()
        started = time.monotonic()
        assert guard.run(ping, "fallback") == "fallback"  # pays the timeout once
        assert not guard.available
        answers = [guard.run(ping, "fallback") for _ in range(200)]
        assert answers == ["fallback"] * 200 and len(calls) == 2  # the breaker answered, Redis was not tried
        assert time.monotonic() - started < 3

        proxy.open()
        time.sleep(3.1)
        assert guard.run(ping, "fallback") is True and guard.available and guard.recoveries == 1


def test_failed_probes_back_off_up_to_the_limit():
    with proxy_for(REDIS_URL) as proxy:
        guard = GuardedRedis(f"redis://127.0.0.1:{proxy.port}/0", cooldown=0.1, max_cooldown=0.4)
        proxy.close()
        probes = []

        def ping(client):
            probes.append(time.monotonic())
            return client.ping()

        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            guard.run(ping, None)
            time.sleep(0.01)
        gaps = [later - earlier for earlier, later in zip(probes, probes[1:])]
        assert gaps[:2] == sorted(gaps[:2]) and 0.35 < gaps[-1] < 0.8, gaps  # 0.1, 0.2, then 0.4 each
        assert len(probes) < 12


def test_a_refused_redis_falls_back_and_recovers():
    with proxy_for(REDIS_URL) as proxy:
        guard = GuardedRedis(f"redis://127.0.0.1:{proxy.port}/0", cooldown=0.3)
        key = "packyard:test:guard"
        assert guard.run(lambda c: c.set(key, b"v", ex=60), None) is True
        proxy.close()
        assert guard.run(lambda c: c.get(key), "missing") == "missing"
        proxy.open()
        deadline = time.monotonic() + 10
        while guard.run(lambda c: c.get(key), "missing") == "missing":
            assert time.monotonic() < deadline, "GuardedRedis never used Redis again"
            time.sleep(0.1)
        assert guard.run(lambda c: c.get(key), None) == b"v" and guard.recoveries == 1


def test_probes_of_a_hung_redis_are_made_by_one_caller_at_a_time_and_paced():
    """A read with nowhere else to go probes Redis whatever the breaker says. With Redis hung each
    probe costs a timeout: one caller pays it, the others get the answer at once, and the next
    try waits for the probe interval."""
    with proxy_for(REDIS_URL) as proxy:
        guard = GuardedRedis(f"redis://127.0.0.1:{proxy.port}/0", connect_timeout=0.3, timeout=0.3, probe_interval=1.0)
        assert guard.probe()
        proxy.hang()
        assert guard.run(lambda client: client.ping(), "fallback") == "fallback" and not guard.available
        start = threading.Barrier(8)

        def timed_probe(_) -> tuple[bool, float]:
            start.wait()
            started = time.monotonic()
            return guard.probe(), time.monotonic() - started

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(timed_probe, range(8)))
        assert [answer for answer, _ in answers] == [False] * 8
        waits = sorted(taken for _, taken in answers)
        assert waits[-1] >= 0.25 and waits[-2] < 0.1, waits  # one caller waited for Redis's timeout

        started = time.monotonic()
        assert not guard.probe() and time.monotonic() - started < 0.1  # within the interval: not tried
        proxy.open()
        time.sleep(1.0)
        assert guard.probe() and guard.available and guard.recoveries == 1


def test_a_probe_right_after_a_refused_one_finds_redis_back():
    """A refused probe costs nothing: the next caller tries again at once, so the first read after
    Redis is back (a restart) finds it, with no interval of answers as if it were still away."""
    with proxy_for(REDIS_URL) as proxy:
        guard = GuardedRedis(f"redis://127.0.0.1:{proxy.port}/0", probe_interval=10.0)
        proxy.close()
        assert not guard.probe() and not guard.available
        proxy.open()
        assert guard.probe() and guard.available and guard.recoveries == 1
