"""One daemon thread per process that renders the aggregates a change marked stale, after the
change has been acknowledged: a publish never waits for work that grows with the registry.

Submissions queue up while a render runs and are taken together, so a burst of publishes costs
one render of each aggregate, not one per publish. Nothing is lost if the process dies first:
the stale marker stays in the database, and the next reader of the aggregate renders it
(`DocumentStore.get_aggregate`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, Hashable, TypeVar

log = logging.getLogger("packyard.documents")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BackgroundRenders(Generic[K, V]):
    def __init__(self, render: Callable[[K, V], object], name: str = "packyard-aggregates"):
        self._render = render
        self._name = name
        self._queue: dict[K, V] = {}
        self._busy = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, items: dict[K, V]) -> None:
        with self._cond:
            self._queue.update(items)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is queued or rendering (tests, the benchmark, a graceful stop)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait_for(lambda: bool(self._queue))
                batch, self._queue, self._busy = self._queue, {}, True
            for key, value in sorted(batch.items(), key=lambda item: repr(item[0])):
                try:
                    self._render(key, value)
                except Exception:  # the stale marker stays: a reader or the next change renders it
                    log.exception("could not render %s in the background", key)
