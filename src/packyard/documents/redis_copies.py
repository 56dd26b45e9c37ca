"""Documents in Redis (the production path): one hash per document, written set-if-newer by
serial, so post-commit writers finishing out of order never move a document back.

Every call goes through the core's `GuardedRedis` (short timeouts, a circuit breaker); while
Redis is away each call raises `RedisUnavailable` at once, and the store falls back to the
database (reads) or keeps the documents to write again (writes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from packyard.documents.stored import StoredDocument

if TYPE_CHECKING:
    import redis

    from packyard.resilience.redis_guard import GuardedRedis

T = TypeVar("T")
_UNAVAILABLE = object()


class RedisUnavailable(Exception):
    """Redis did not answer (or did not a moment ago)."""

_SET_IF_NEWER = """
local cur = tonumber(redis.call('HGET', KEYS[1], 's') or '-1')
if tonumber(ARGV[1]) > cur or (ARGV[3] == '1' and tonumber(ARGV[1]) == cur) then
  redis.call('HSET', KEYS[1], 's', ARGV[1], 'd', ARGV[2])
  return 1
end
return 0
"""


class RedisDocuments:
    def __init__(self, redis: GuardedRedis, prefix: str):
        self.redis = redis
        self.prefix = prefix + "doc:"
        self._set_if_newer = redis.client.register_script(_SET_IF_NEWER)

    def _run(self, operation: Callable[[redis.Redis], T]) -> T:
        result = self.redis.run(operation, _UNAVAILABLE)
        if result is _UNAVAILABLE:
            raise RedisUnavailable()
        return result  # type: ignore[return-value]

    def _key(self, ecosystem: str, key: str) -> str:
        return f"{self.prefix}{ecosystem}:{key}"

    def read(self, ecosystem: str, key: str) -> StoredDocument | None:
        raw = self._run(lambda client: client.hget(self._key(ecosystem, key), "d"))
        return None if raw is None else StoredDocument.decode(raw)

    def read_many(self, ecosystem: str, keys: list[str]) -> list[StoredDocument | None]:
        """One pipelined round trip for all of `keys`, in their order."""
        def operation(client: redis.Redis) -> list:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.hget(self._key(ecosystem, key), "d")
            return pipe.execute()

        return [None if raw is None else StoredDocument.decode(raw) for raw in self._run(operation)] if keys else []

    def write(self, ecosystem: str, key: str, doc: StoredDocument, *, same_serial: bool = False) -> bool:
        """`same_serial`: also replace a copy of the same serial (a refill after a partial loss)."""
        flag = "1" if same_serial else "0"
        return bool(self._run(lambda client: self._set_if_newer(keys=[self._key(ecosystem, key)], args=[doc.serial, doc.encode(), flag], client=client)))

    def write_many(self, items: list[tuple[str, str, StoredDocument]]) -> None:
        """Set-if-newer, a copy of the same serial replaced too (the same change wrote it)."""
        def operation(client: redis.Redis) -> list:
            pipe = client.pipeline(transaction=False)
            for ecosystem, key, doc in items:
                self._set_if_newer(keys=[self._key(ecosystem, key)], args=[doc.serial, doc.encode(), "1"], client=pipe)
            return pipe.execute()

        if items:
            self._run(operation)

    def keys(self, ecosystem: str) -> Iterator[str]:
        start = len(self.prefix) + len(ecosystem) + 1
        found = self._run(lambda client: [raw.decode()[start:] for raw in client.scan_iter(match=f"{self.prefix}{ecosystem}:*", count=1000)])
        yield from found

    def delete(self, ecosystem: str, key: str) -> None:
        self._run(lambda client: client.delete(self._key(ecosystem, key)))
