"""A byte cache. Keys carry the change serial, so a write invalidates by moving the serial on."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Cache(ABC):
    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def set(self, key: str, value: bytes, ttl: int | None = None) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def get_serial(self, ecosystem: str) -> int | None:
        """The last change serial published for an ecosystem, if this cache knows it."""

    @abstractmethod
    def publish_serial(self, ecosystem: str, serial: int) -> None:
        """Record a new serial; never moves it backwards."""
