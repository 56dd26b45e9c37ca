"""Caches: in-process by default, Redis with `PACKYARD_REDIS_URL`."""

from packyard.cache.base import Cache
from packyard.cache.memory import MemoryCache

__all__ = ["Cache", "MemoryCache", "open_cache"]


def open_cache(redis_url: str | None, namespace: str, max_entries: int) -> Cache:
    if redis_url:
        from packyard.cache.redis import RedisCache

        return RedisCache(redis_url, namespace)
    return MemoryCache(max_entries)
