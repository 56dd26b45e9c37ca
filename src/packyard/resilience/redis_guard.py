"""The one way the core talks to Redis: short timeouts, a circuit breaker, and a fallback value.

Redis only ever speeds packyard up (a shared cache, the serial board), so no request may fail
because it is down. Every Redis call goes through `GuardedRedis.run(operation, default)`: when Redis
answers, its result; when it does not (refused, reset, timed out), `default`, and the breaker opens
for `cooldown` seconds, during which calls return `default` at once instead of each paying a
timeout. After the cool-down one caller probes Redis again (the others keep getting `default`);
each failed probe doubles the cool-down up to `max_cooldown`, so a hung Redis costs one timeout
every few seconds per process, not one per request. When a probe succeeds the breaker closes and
`recoveries` counts up, so a user whose data may have gone stale during the outage (the serial
board) can resync.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from packyard.observability.metrics import RECORDER

log = logging.getLogger("packyard.redis")

T = TypeVar("T")

# A failed probe that took this long waited for a timeout (Redis hung), not for a refusal.
SLOW_PROBE_SECONDS = 0.1

# What a dead, restarting or unreachable Redis raises (redis.ConnectionError covers refused and reset).
_OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)


class GuardedRedis:
    def __init__(
        self, url: str, *, connect_timeout: float = 0.5, timeout: float = 1.0, cooldown: float = 1.0, max_cooldown: float = 8.0,
        probe_interval: float = 1.0,
    ):
        # One immediate retry: a pooled connection cut while Redis restarted fails once, the retry reconnects.
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=connect_timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 1)
        )
        self.cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._current_cooldown = cooldown
        self.recoveries = 0
        self._lock = threading.Lock()
        self._closed_until = 0.0  # monotonic time before which calls do not try Redis
        self._down = False
        self.probe_interval = probe_interval
        self._probing = False
        self._next_probe = 0.0  # after a probe timed out: monotonic time before which `probe` does not try Redis

    @property
    def available(self) -> bool:
        """False while the breaker is open (Redis failed within the last cool-down)."""
        return not self._down or time.monotonic() >= self._closed_until

    def run(self, operation: Callable[[redis.Redis], T], default: T) -> T:
        """`operation(client)`, or `default` when Redis is down or was down a moment ago."""
        if self._down:
            with self._lock:
                now = time.monotonic()
                if now < self._closed_until:
                    return default
                self._closed_until = now + self._current_cooldown  # this caller probes; the others wait it out
        try:
            result = operation(self.client)
        except _OUTAGE_ERRORS as exc:
            RECORDER.count("packyard_redis_errors_total")
            self._trip(exc)
            return default
        if self._down:
            self._recover()
        return result

    def _trip(self, exc: BaseException) -> None:
        with self._lock:
            if self._down:  # a probe failed: wait longer before the next one
                self._current_cooldown = min(self._current_cooldown * 2, self.max_cooldown)
            else:
                log.warning("Redis is unreachable (%s: %s); serving without it until it answers again", type(exc).__name__, exc)
                self._current_cooldown = self.cooldown
            self._down = True
            self._closed_until = time.monotonic() + self._current_cooldown

    def _recover(self) -> None:
        with self._lock:
            if self._down:
                self._down = False
                self._closed_until = 0.0
                self.recoveries += 1
                log.warning("Redis is reachable again")

    def probe(self) -> bool:
        """Try Redis now, whatever the cool-down (another connection just saw it answer, or a read
        has nowhere else to go): True when it answers. One caller at a time: the others get the
        last answer at once. After a probe that timed out (a hung Redis: each costs a timeout),
        the next waits `probe_interval`; after a refused one (Redis down, or restarting) the next
        caller may try at once, so a read just after Redis is back finds it."""
        with self._lock:
            if self._probing or (self._down and time.monotonic() < self._next_probe):
                return not self._down
            self._probing = True
        started = time.monotonic()
        try:
            self.client.ping()
        except _OUTAGE_ERRORS as exc:
            self._trip(exc)
            if time.monotonic() - started >= SLOW_PROBE_SECONDS:
                self._next_probe = time.monotonic() + self.probe_interval
            return False
        finally:
            self._probing = False
        if self._down:
            self._recover()
        return True

    def check(self) -> None:
        """Raise when Redis does not answer (readiness probe; not guarded, so it reports the cause)."""
        self.client.ping()
