"""Redis-backed cache, shared by every worker."""

from __future__ import annotations

import hashlib

import redis

from packyard.cache.base import Cache


class RedisCache(Cache):
    def __init__(self, url: str, namespace: str):
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        # One Redis may serve several registries (or test runs): keys are namespaced per database.
        self.prefix = "packyard:" + hashlib.sha256(namespace.encode()).hexdigest()[:12] + ":"

    def get(self, key: str) -> bytes | None:
        return self.client.get(self.prefix + key)

    def set(self, key: str, value: bytes, ttl: int | None = None) -> None:
        self.client.set(self.prefix + key, value, ex=ttl or 86400)

    def check(self) -> None:
        self.client.ping()
