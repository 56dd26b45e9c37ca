"""How the hot path (`http/hot_reads.py`) counts an answer: by route template and answer kind.

Through the app, a request is counted by its key (ecosystem, route, method, status), a tuple built
and hashed for every request (`observer.key_counter`). The hot path finds the entry by the route
template alone, a constant string whose hash is computed once, and then by a small number for the
method and status (the answer's kind): one dict lookup and one list index, then the same three
additions. The entries are the recorder's own (`Recorder.entry`), so a scrape sees one total per
key, however the requests came.
"""

from __future__ import annotations

from collections.abc import Callable

from packyard.observability.metrics import FASTEST, SECONDS_TOTAL, SENT, Recorder, bucket

# The answers the hot path gives, numbered: GET 200 = 0, HEAD 200 = 1, GET 206 = 2, ..., HEAD 416 = 7.
KINDS = tuple((method, status) for status in (200, 206, 304, 416) for method in ("GET", "HEAD"))
KIND_OF_STATUS = {status: index for index, (method, status) in enumerate(KINDS) if method == "GET"}  # + 1 for HEAD

CountRoute = Callable[[str, int, float, int], None]  # (route template, kind, seconds, body bytes sent)


class RouteTotals:
    """One ecosystem's entries in a `Recorder`, by route template, then kind."""

    def __init__(self, recorder: Recorder, ecosystem: str) -> None:
        self._recorder = recorder
        self._ecosystem = ecosystem
        self._by_route: dict[str, list[list[float] | None]] = {}
        self.count = self._counter()

    def _entry(self, route: str, kind: int) -> list[float]:
        """The entry of a route and kind not counted here before (made in the recorder if it is new there too)."""
        kinds = self._by_route.setdefault(route, [None] * len(KINDS))
        method, status = KINDS[kind]
        entry = kinds[kind] = self._recorder.entry((self._ecosystem, route, method, status))
        return entry

    def _counter(self) -> CountRoute:
        """A closure, not a method: it runs for every hot answer, and each lookup saved shows."""
        by_route, first = self._by_route, self._entry

        def count(route: str, kind: int, seconds: float, sent: int) -> None:
            try:
                entry = by_route[route][kind] or first(route, kind)
            except KeyError:
                entry = first(route, kind)
            entry[SENT] += sent
            entry[1 if seconds <= FASTEST else bucket(seconds)] += 1
            entry[SECONDS_TOTAL] += seconds

        return count
