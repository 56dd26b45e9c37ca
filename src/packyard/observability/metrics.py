"""Prometheus metrics, cheap enough for the hot read paths and summed across worker processes.

A request costs one dict lookup and a few additions in its own process (`observer.counter`).
prometheus-client's multiprocess mode was measured here at 0.9 µs per counter increment and
1.4 µs per histogram observation (each writes an mmap'd file), plus 1.6 µs per `.labels()`
lookup: 3.5-5.5 µs for the three series a request touches, 4-6% of a read path that answers
~10k requests a second per worker. So each worker keeps plain per-process totals and, once a second
(`PACKYARD_METRICS_FLUSH_SECONDS`) while it has something new, writes them whole to `<pid>.json` in
the metrics directory that `packyard serve` makes fresh at every start (`PACKYARD_METRICS_DIR`). A scrape,
whichever worker answers it, adds its own live totals to every other worker's latest file, and
prometheus-client renders the text format (`generate_latest` over a custom collector). The
supervisor folds a dead worker's file into `retired.json`, so counters never go back when a worker
is replaced. Other workers' counts in a scrape are at most that old.

Threads (the database, Redis, uploads) count through `Recorder.count`, under a lock; the request
counters are touched only on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

log = logging.getLogger("packyard.metrics")

FLUSH_SECONDS = 1.0
RETIRED = "retired.json"
# Reads are sub-millisecond when served from the memo; uploads of large files take minutes.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# A request entry (`Recorder.entry`): [body bytes sent, one count per bucket and +Inf, the duration sum].
SENT = 0
SECONDS_TOTAL = len(DURATION_BUCKETS) + 2
FASTEST = DURATION_BUCKETS[0]  # a read from memory: counted at index 1 with no search
READ_METHODS = frozenset(("GET", "HEAD"))
KNOWN_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


@dataclass(frozen=True)
class Family:
    name: str  # as exposed (counters end in _total)
    kind: str  # counter | histogram | gauge
    help: str
    labels: tuple[str, ...]


FAMILIES = {f.name: f for f in (
    Family("packyard_http_requests_total", "counter", "HTTP requests answered, by ecosystem, route template, method and status.",
           ("ecosystem", "route", "method", "status")),
    Family("packyard_read_duration_seconds", "histogram", "Time to answer a GET or HEAD, by ecosystem and route template.",
           ("ecosystem", "route")),
    Family("packyard_write_duration_seconds", "histogram",
           "Time to answer any other method (uploads: pypi /legacy/, rubygems /api/v1/gems), by ecosystem and route template.",
           ("ecosystem", "route")),
    Family("packyard_served_bytes_total", "counter", "Response body bytes sent, by ecosystem and route template.",
           ("ecosystem", "route")),
    Family("packyard_uploaded_bytes_total", "counter", "Bytes of newly stored uploaded files, by ecosystem.", ("ecosystem",)),
    Family("packyard_uploaded_files_total", "counter", "Newly stored uploaded files, by ecosystem.", ("ecosystem",)),
    Family("packyard_memo_lookups_total", "counter",
           "Lookups in the per-process document memos (hit: served without reading a copy), by memo and result.",
           ("memo", "result")),
    Family("packyard_database_errors_total", "counter",
           "Database failures answered as 503 (down, busy) or 507 (full), by status.", ("status",)),
    Family("packyard_redis_errors_total", "counter", "Redis calls that failed (served from the fallback instead).", ()),
    Family("packyard_journal_serial", "gauge", "The latest change serial of each ecosystem.", ("ecosystem",)),
)}

Labels = tuple[str, ...]
Totals = dict[str, Any]  # {"counters": [[name, labels, value]], "histograms": [[name, labels, buckets, sum]]}


def bucket(seconds: float) -> int:
    """A request entry's index of the bucket counting a duration (1 for FASTEST and less)."""
    return 1 + bisect_left(DURATION_BUCKETS, seconds)


class Recorder:
    """This process's totals since it started."""

    def __init__(self) -> None:
        # (ecosystem, route, method, status) -> [bytes sent, per-bucket counts..., duration sum]; the
        # requests are the sum of the bucket counts, so a request is three additions, not four
        self.requests: dict[tuple[str, str, str, int], list[float]] = {}
        self._counts: dict[tuple[str, Labels], float] = {}
        self._lock = threading.Lock()
        self._sources: dict[str, Callable[[], Iterable[tuple[str, Labels, float]]]] = {}
        self._flushing = False
        self._written: str | None = None

    def entry(self, key: tuple[str, str, str, int]) -> list[float]:
        """The running totals of one (ecosystem, route, method, status), made on first use:
        [bytes sent, per-bucket counts..., duration sum]. `observer.key_counter` and the hot path's
        `route_totals.RouteTotals` add to them."""
        ecosystem, route, method, status = key
        if method not in KNOWN_METHODS:
            key = (ecosystem, route, "other", status)
        return self.requests.setdefault(key, [0] * (SECONDS_TOTAL + 1))

    def count(self, name: str, labels: Labels = (), amount: float = 1) -> None:
        """Add to a counter from any thread (rare events: errors, uploads)."""
        key = (name, labels)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + amount

    def set_source(self, name: str, source: Callable[[], Iterable[tuple[str, Labels, float]]]) -> None:
        """A callable giving (counter name, labels, this process's total), read when totals are taken (memo hits)."""
        self._sources[name] = source

    def totals(self) -> Totals:
        merged = Merged()
        for (ecosystem, route, method, status), entry in list(self.requests.items()):
            merged.count("packyard_http_requests_total", (ecosystem, route, method, str(status)), sum(entry[1:SECONDS_TOTAL]))
            merged.count("packyard_served_bytes_total", (ecosystem, route), entry[0])
            family = "packyard_read_duration_seconds" if method in READ_METHODS else "packyard_write_duration_seconds"
            merged.observe(family, (ecosystem, route), entry[1:])
        with self._lock:
            counts = list(self._counts.items())
        for (name, labels), value in counts:
            merged.count(name, labels, value)
        for source in self._sources.values():
            for name, labels, value in source():
                merged.count(name, labels, value)
        return merged.totals()

    # -- across workers -------------------------------------------------------------------------

    def start_flushing(self, directory: Path | None, every: float = FLUSH_SECONDS) -> None:
        """Write this process's totals to `directory` every `every` seconds while they change (call on
        the event loop, once: the app's lifespan does)."""
        if self._flushing or directory is None:
            return
        self._flushing = True
        loop = asyncio.get_running_loop()

        def tick() -> None:
            try:
                self.flush(directory)
            except OSError:
                log.warning("could not write this worker's metrics to %s", directory, exc_info=True)
            loop.call_later(every, tick)

        loop.call_later(every, tick)

    def flush(self, directory: Path) -> None:
        text = json.dumps(self.totals(), separators=(",", ":"))
        if text != self._written:
            write_atomically(directory / f"{os.getpid()}.json", text)
            self._written = text


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


class Merged:
    """Totals of several processes, summed."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, Labels], float] = {}
        self.histograms: dict[tuple[str, Labels], list[float]] = {}

    def count(self, name: str, labels: Labels, value: float) -> None:
        key = (name, labels)
        self.counters[key] = self.counters.get(key, 0) + value

    def observe(self, name: str, labels: Labels, buckets_and_sum: list[float]) -> None:
        """Add per-bucket counts followed by their sum."""
        into = self.histograms.setdefault((name, labels), [0.0] * len(buckets_and_sum))
        for index, value in enumerate(buckets_and_sum):
            into[index] += value

    def add(self, totals: Totals) -> None:
        for name, labels, value in totals.get("counters", ()):
            self.count(name, tuple(labels), value)
        for name, labels, buckets, total in totals.get("histograms", ()):
            self.observe(name, tuple(labels), [*buckets, total])

    def totals(self) -> Totals:
        return {
            "counters": [[name, list(labels), value] for (name, labels), value in self.counters.items()],
            "histograms": [[name, list(labels), buckets[:-1], buckets[-1]] for (name, labels), buckets in self.histograms.items()],
        }


def _read(path: Path) -> Totals | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("unreadable metrics file %s", path, exc_info=True)
        return None


def gather(own: Totals, directory: Path | None) -> Merged:
    """This process's live totals plus every other worker's latest file (and the retired workers')."""
    merged = Merged()
    merged.add(own)
    if directory is None:
        return merged
    retired = _read(directory / RETIRED) or {}
    skip = {f"{os.getpid()}.json"} | {f"{pid}.json" for pid in retired.get("pids", ())}
    merged.add(retired)
    for path in directory.glob("*.json"):
        if path.name != RETIRED and path.name not in skip:
            merged.add(_read(path) or {})
    return merged


def retire_worker(directory: Path, pid: int) -> None:
    """A worker died: fold its last totals into `retired.json` and remove its file (supervisor only).

    `retired.json` lists the pids it holds, so a scrape between the two steps counts nothing twice."""
    path = directory / f"{pid}.json"
    totals = _read(path)
    if totals is None:
        return
    retired = _read(directory / RETIRED) or {}
    merged = Merged()
    merged.add(retired)
    merged.add(totals)
    write_atomically(directory / RETIRED, json.dumps({**merged.totals(), "pids": [*retired.get("pids", ()), pid]}))
    path.unlink(missing_ok=True)


# -- exposition ----------------------------------------------------------------------------------

class _Collector:
    def __init__(self, merged: Merged, gauges: dict[tuple[str, Labels], float]):
        self.merged = merged
        self.gauges = gauges

    def collect(self):
        by_family: dict[str, list[tuple[Labels, Any]]] = {name: [] for name in FAMILIES}
        for (name, labels), value in sorted(self.merged.counters.items()):
            if name in by_family:
                by_family[name].append((labels, value))
        for (name, labels), buckets in sorted(self.merged.histograms.items()):
            if name in by_family:
                by_family[name].append((labels, buckets))
        for (name, labels), value in sorted(self.gauges.items()):
            by_family[name].append((labels, value))
        for name, family in FAMILIES.items():
            if family.kind == "counter":
                metric = CounterMetricFamily(name, family.help, labels=family.labels)
                for labels, value in by_family[name]:
                    metric.add_metric(labels, value)
            elif family.kind == "gauge":
                metric = GaugeMetricFamily(name, family.help, labels=family.labels)
                for labels, value in by_family[name]:
                    metric.add_metric(labels, value)
            else:
                metric = HistogramMetricFamily(name, family.help, labels=family.labels)
                for labels, buckets in by_family[name]:
                    metric.add_metric(labels, _cumulative(buckets[:-1]), buckets[-1])
            yield metric


def _cumulative(counts: list[float]) -> list[tuple[str, float]]:
    bounds = [*(repr(float(b)) for b in DURATION_BUCKETS), "+Inf"]
    running, out = 0.0, []
    for bound, count in zip(bounds, counts):
        running += count
        out.append((bound, running))
    return out


def render(merged: Merged, gauges: dict[tuple[str, Labels], float]) -> bytes:
    """The Prometheus text format (prometheus-client's own writer)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(merged, gauges))
    return generate_latest(registry)


RECORDER = Recorder()  # this process's; like prometheus-client's default registry, one per process
