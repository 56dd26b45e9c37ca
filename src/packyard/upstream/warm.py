"""Answers an adapter built from an upstream page, kept per process so that a warm proxied read
costs what a local one does (a serial check and a dict lookup: no local lookup, no gate, no page
cache, no render, no thread hop).

An answer holds while the ecosystem's serial has not moved since it was made (no package took the
name locally and no reservation was made, so the gate's answer and the absence of a local document
still hold) and its page is within the cache lifetime; after that the adapter's full path runs
again and puts the new answer. Never kept for a private registry, which checks every reader.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from packyard.upstream.pages import CachedPage

if TYPE_CHECKING:
    from packyard.registry import Registry

_MAX_ANSWERS = 65536


class WarmReads:
    def __init__(self, registry: Registry, ecosystem: str, lifetime: timedelta):
        self._registry = registry
        self._ecosystem = ecosystem
        self._lifetime = lifetime
        self._answers: dict[Hashable, tuple[int, CachedPage, Any]] = {}

    def get(self, key: Hashable) -> Any | None:
        known = self._answers.get(key)
        if known is None:
            return None
        serial, page, answer = known
        if serial != self._registry.serial(self._ecosystem) or datetime.now(timezone.utc) - page.checked_at >= self._lifetime:
            return None
        return answer

    def put(self, key: Hashable, serial: int, page: CachedPage, answer: Any) -> None:
        """`serial`: the ecosystem's serial read before the gate was asked (a later change moves it)."""
        if self._registry.restricted():
            return
        if len(self._answers) >= _MAX_ANSWERS:
            self._answers.clear()
        self._answers[key] = (serial, page, answer)
