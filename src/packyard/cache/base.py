"""A byte cache. Keys carry the change serial, so a write invalidates by moving the serial on."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Cache(ABC):
    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def set(self, key: str, value: bytes, ttl: int | None = None) -> None: ...
