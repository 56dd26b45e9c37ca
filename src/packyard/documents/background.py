"""One daemon thread per process that renders the aggregates a change marked stale, after the
change has been acknowledged: a publish never waits for work that grows with the registry.

A render waits until submissions settle (no new one for `settle` seconds, at most `longest` after
the first), and everything queued meanwhile is taken together: a stream of publishes costs one
render of each aggregate every few seconds, not one per publish, so the renders (O(registry),
on the same cores and GIL as the publishes) do not slow the stream down. Readers never wait for
this thread: a reader of a stale aggregate renders it itself. Nothing is lost if the process dies first:
the stale marker stays in the database, and the next reader of the aggregate renders it
(`DocumentStore.get_aggregate`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, Hashable, TypeVar

from packyard.errors import InsufficientStorage, ServiceUnavailable
from packyard.resilience.faults import database_fault

log = logging.getLogger("packyard.documents")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BackgroundRenders(Generic[K, V]):
    def __init__(self, render: Callable[[K, V], object], *, settle: float = 1.0, longest: float = 10.0,
                 name: str = "packyard-aggregates"):
        self._render = render
        self._settle, self._longest = settle, longest
        self._name = name
        self._queue: dict[K, V] = {}
        self._first = self._last = 0.0  # when the queued submissions came: the first, the latest
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, items: dict[K, V]) -> None:
        if not items:
            return
        with self._cond:
            self._last = time.monotonic()
            if not self._queue:
                self._first = self._last
            self._queue.update(items)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue))
                while (wait := min(self._last + self._settle, self._first + self._longest) - time.monotonic()) > 0:
                    self._cond.wait(wait)
                batch, self._queue = self._queue, {}
            for key, value in sorted(batch.items(), key=lambda item: repr(item[0])):
                try:
                    self._render(key, value)
                except Exception as exc:  # the stale marker stays: a reader or the next change renders it
                    fault = exc if isinstance(exc, (ServiceUnavailable, InsufficientStorage)) else database_fault(exc)
                    if fault is None:
                        log.exception("could not render %s in the background", key)
                    else:  # a dependency's state (down, full), not a bug: one line
                        log.warning("could not render %s in the background: %s", key, fault.detail)
