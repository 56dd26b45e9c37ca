"""Caches: in-process by default, Redis with `PACKYARD_REDIS_URL`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from packyard.cache.base import Cache
from packyard.cache.memory import MemoryCache

if TYPE_CHECKING:
    from packyard.resilience.redis_guard import GuardedRedis

__all__ = ["Cache", "MemoryCache", "open_cache"]


def open_cache(redis: GuardedRedis | None, namespace: str, max_entries: int) -> Cache:
    if redis is not None:
        from packyard.cache.redis import RedisCache

        return RedisCache(redis, namespace)
    return MemoryCache(max_entries)
