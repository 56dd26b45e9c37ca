"""Redis-backed cache, shared by every worker; also carries each ecosystem's current serial."""

from __future__ import annotations

import hashlib

import redis

from packyard.cache.base import Cache

# Set the serial only if it grows: concurrent writers may publish out of order. The key expires, so
# a publish lost while Redis was away heals itself from the database within minutes.
_SET_MAX = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'EX', 300) end
return 1
"""


class RedisCache(Cache):
    def __init__(self, url: str, namespace: str):
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        # One Redis may serve several registries (or test runs): keys are namespaced per database.
        self.prefix = "packyard:" + hashlib.sha256(namespace.encode()).hexdigest()[:12] + ":"
        self._set_max = self.client.register_script(_SET_MAX)

    def get(self, key: str) -> bytes | None:
        return self.client.get(self.prefix + key)

    def set(self, key: str, value: bytes, ttl: int | None = None) -> None:
        self.client.set(self.prefix + key, value, ex=ttl or 86400)

    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def get_serial(self, ecosystem: str) -> int | None:
        value = self.client.get(self.prefix + "serial:" + ecosystem)
        return int(value) if value is not None else None

    def publish_serial(self, ecosystem: str, serial: int) -> None:
        self._set_max(keys=[self.prefix + "serial:" + ecosystem], args=[serial])

    def check(self) -> None:
        self.client.ping()
