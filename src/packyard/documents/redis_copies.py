"""Documents in Redis (the production path): one hash per document, written set-if-newer by
serial, so post-commit writers finishing out of order never move a document back."""

from __future__ import annotations

from collections.abc import Iterator

from .stored import StoredDocument

_SET_IF_NEWER = """
local cur = tonumber(redis.call('HGET', KEYS[1], 's') or '-1')
if tonumber(ARGV[1]) > cur or (ARGV[3] == '1' and tonumber(ARGV[1]) == cur) then
  redis.call('HSET', KEYS[1], 's', ARGV[1], 'd', ARGV[2])
  return 1
end
return 0
"""


class RedisDocuments:
    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix + "doc:"
        self._set_if_newer = client.register_script(_SET_IF_NEWER)

    def _key(self, ecosystem: str, key: str) -> str:
        return f"{self.prefix}{ecosystem}:{key}"

    def read(self, ecosystem: str, key: str) -> StoredDocument | None:
        raw = self.client.hget(self._key(ecosystem, key), "d")
        return None if raw is None else StoredDocument.decode(raw)

    def write(self, ecosystem: str, key: str, doc: StoredDocument, *, same_serial: bool = False) -> bool:
        """`same_serial`: also replace a copy of the same serial (a refill after a partial loss)."""
        return bool(self._set_if_newer(keys=[self._key(ecosystem, key)], args=[doc.serial, doc.encode(), "1" if same_serial else "0"]))

    def write_many(self, items: list[tuple[str, str, StoredDocument]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for ecosystem, key, doc in items:
            self._set_if_newer(keys=[self._key(ecosystem, key)], args=[doc.serial, doc.encode(), "1"], client=pipe)
        pipe.execute()

    def keys(self, ecosystem: str) -> Iterator[str]:
        start = len(self.prefix) + len(ecosystem) + 1
        for raw in self.client.scan_iter(match=f"{self.prefix}{ecosystem}:*", count=1000):
            yield raw.decode()[start:]

    def delete(self, ecosystem: str, key: str) -> None:
        self.client.delete(self._key(ecosystem, key))
