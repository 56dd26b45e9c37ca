"""A per-process memo of ready-to-send representations, each stamped with the serial it was built at.

A stamp is the change serial the bytes belong to (the ecosystem's for `/versions`, the gem's own
`last_serial` for `/info/<gem>`); a lookup with a newer stamp misses and the bytes are read again
from the database, so no worker ever needs to be told about another worker's writes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

T = TypeVar("T")


class Memo(Generic[T]):
    def __init__(self, max_entries: int = 2048):
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, tuple[object, T]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # counted under the lock, for the metrics
        self.misses = 0

    def get(self, key: Hashable, stamp: object) -> T | None:
        with self._lock:
            item = self._data.get(key)
            if item is None or item[0] != stamp:
                self.misses += 1
                return None
            self.hits += 1
            self._data.move_to_end(key)
            return item[1]

    def held(self, key: Hashable) -> T | None:
        """The value kept for `key` whatever its stamp: a last resort when no stamp can be had."""
        with self._lock:
            item = self._data.get(key)
            return None if item is None else item[1]

    def put(self, key: Hashable, stamp: object, value: T) -> T:
        with self._lock:
            self._data[key] = (stamp, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
