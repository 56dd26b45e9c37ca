"""Redis-backed cache, shared by every worker. While Redis is down every get is a miss and every set
is dropped (see redis_guard.py), so readers render from the database instead of failing."""

from __future__ import annotations

import hashlib

from packyard.cache.base import Cache
from packyard.resilience.redis_guard import GuardedRedis


def redis_prefix(namespace: str) -> str:
    """One Redis may serve several registries (or test runs): keys are namespaced per database."""
    return "packyard:" + hashlib.sha256(namespace.encode()).hexdigest()[:12] + ":"


class RedisCache(Cache):
    def __init__(self, redis: GuardedRedis, namespace: str):
        self.redis = redis
        self.prefix = redis_prefix(namespace)

    def get(self, key: str) -> bytes | None:
        return self.redis.run(lambda client: client.get(self.prefix + key), None)

    def set(self, key: str, value: bytes, ttl: int | None = None) -> None:
        self.redis.run(lambda client: client.set(self.prefix + key, value, ex=ttl or 86400), None)
