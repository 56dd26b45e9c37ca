"""Where each process learns an ecosystem's latest change serial, cheaply enough for every read.

Read paths key their cached bytes on the serial, so this lookup is the whole cost of knowing that
a cached page is still current. It must be cross-process (workers, the CLI) and immediate (a yank
shows on the very next request, in any worker):

- embedded default (SQLite): a small file per ecosystem beside the database, replaced atomically
  after each commit; a reader only `stat`s it (about a microsecond, no thread hop) and re-reads it
  when it changed;
- with Redis: one GET (set-max after each commit, so writers finishing out of order never move it back);
- otherwise (PostgreSQL without Redis): an indexed lookup of the journal.

A board that has no value (a fresh Redis, a missing file) falls back to the journal. So does a
board that cannot be used: while Redis is down (redis_guard.py) `current` reads the journal and a
failed publish is kept and replayed when Redis answers again; after an outage each ecosystem is
resynced from the journal once. A file board that cannot be written (disk full) removes its file,
so readers fall back to the journal rather than trusting a serial that stopped moving.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from packyard.documents.serial_feed import SerialFeed
from packyard.errors import InsufficientStorage, ServiceUnavailable

if TYPE_CHECKING:
    from packyard.resilience.redis_guard import GuardedRedis

log = logging.getLogger("packyard.redis")

JournalLookup = Callable[[str], int]


class SerialBoard(ABC):
    feed: SerialFeed | None = None  # pushes changes to this process (started on the event loop by the app)
    # Set while this process's feed had a gap not yet repaired: the serials known when it began.
    gap_since: dict[str, int] | None = None

    def __init__(self, lookup: JournalLookup):
        self.lookup = lookup
        # Called with the serials known when the feed stopped being live, before it is live again.
        self.gap_repairs: list[Callable[[dict[str, int]], None]] = []

    @abstractmethod
    def current(self, ecosystem: str) -> int: ...

    def known(self, ecosystem: str) -> int | None:
        """The serial when it is had without a round trip to the database or Redis (a local file;
        the live feed's), else None: the event loop asks this, and leaves `current` to a thread."""
        return None

    @abstractmethod
    def publish(self, ecosystem: str, serial: int) -> None:
        """Called after a commit; never moves the serial backwards."""

    def catch_up(self, ecosystem: str, serial: int) -> None:
        """At a worker's start: `serial` is the journal's; publish it if a change may be unannounced."""
        self.publish(ecosystem, serial)

    def changed(self, ecosystem: str, keys: dict[str, int]) -> None:
        """Documents this thread just wrote through (key -> serial), announced with its next publish."""

    def validity(self, ecosystem: str) -> object | None:
        """While every document change reaches this process with its keys (a live feed): a stamp
        that stays the same until a change without keys or a gap; None otherwise."""
        return None

    def changed_at(self, ecosystem: str, key: str) -> int:
        """The newest serial announced for `key` (see `validity`)."""
        return 0

    def repair_gap(self) -> None:
        """Run the `gap_repairs` for a pending gap (see `RedisSerialBoard.repair_gap`)."""


class JournalSerialBoard(SerialBoard):
    def current(self, ecosystem: str) -> int:
        return self.lookup(ecosystem)

    def publish(self, ecosystem: str, serial: int) -> None:
        return None


class FileSerialBoard(SerialBoard):
    def __init__(self, lookup: JournalLookup, directory: Path):
        super().__init__(lookup)
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._seen: dict[str, tuple[tuple[int, int, int], int]] = {}
        self._lock = threading.Lock()
        self._stat_paths: dict[str, str] = {}  # `current` runs on read paths: a string, not a Path made per call

    def _path(self, ecosystem: str) -> Path:
        return self.directory / f"{ecosystem}.serial"

    def current(self, ecosystem: str) -> int:
        serial = self.known(ecosystem)
        if serial is None:  # no file (first use, or removed after a failed write), or a torn one
            serial = self.lookup(ecosystem)
            self.publish(ecosystem, serial)
        return serial

    def known(self, ecosystem: str) -> int | None:
        path = self._stat_paths.get(ecosystem)
        if path is None:
            path = self._stat_paths[ecosystem] = str(self._path(ecosystem))
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        seen = self._seen.get(ecosystem)
        if seen is not None and seen[0] == stamp:
            return seen[1]
        try:
            with open(path, "rb") as handle:
                serial = int(handle.read() or 0)
        except (FileNotFoundError, ValueError):
            return None
        self._seen[ecosystem] = (stamp, serial)
        return serial

    def publish(self, ecosystem: str, serial: int) -> None:
        path = self._path(ecosystem)
        tmp = self.directory / f".{ecosystem}.{os.getpid()}.tmp"
        try:
            with self._lock, open(self.directory / f".{ecosystem}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # writers in other processes too
                try:
                    if int(path.read_text() or 0) >= serial:
                        return
                except (FileNotFoundError, ValueError):
                    # no file (first use, or removed after a failed write): a later change's
                    # publish may have been lost, so never write less than the journal says
                    try:
                        serial = max(serial, self.lookup(ecosystem))
                    except (ServiceUnavailable, InsufficientStorage):
                        pass  # called after a commit: never fail it
                tmp.write_text(str(serial))
                os.replace(tmp, path)
        except OSError:  # disk full or read-only: the change is committed; readers use the journal
            tmp.unlink(missing_ok=True)
            path.unlink(missing_ok=True)


class RedisSerialBoard(SerialBoard):
    # Set only if it grows, then tell every process. The key expires, so a publish lost while Redis
    # was away heals itself from the journal within minutes. The second key, which does not expire,
    # is the newest serial ever announced (`catch_up`).
    _SET_MAX = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'EX', 300) end
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[2]) or '-1') then redis.call('SET', KEYS[2], ARGV[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""
    # Announced already: only set the serial (it may have expired); 1 otherwise (publish it).
    _CAUGHT_UP = """
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[2]) or '-1') then return 1 end
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '-1') then redis.call('SET', KEYS[1], ARGV[1], 'EX', 300) end
return 0
"""

    def __init__(self, lookup: JournalLookup, redis: GuardedRedis, prefix: str, url: str | None = None):
        super().__init__(lookup)
        self.redis = redis
        self.prefix = prefix + "serial:"
        self.announced_prefix = prefix + "announced:"
        self.channel = prefix + "serials"
        self._set_max = redis.client.register_script(self._SET_MAX)
        self._caught_up = redis.client.register_script(self._CAUGHT_UP)
        self._unpublished: dict[str, int] = {}  # publishes Redis missed, replayed when it is back
        self._synced: dict[str, int] = {}  # ecosystem -> redis.recoveries when last resynced
        self._lock = threading.Lock()
        # What the feed (serial_feed.py) told this process, and this process's own publishes: while
        # the feed is live a read checks only this.
        self._pushed: dict[str, int] = {}
        self._ecosystems: set[str] = set()
        # Per key, the newest serial announced for it; per ecosystem, an epoch that moves on a change
        # announced without its keys and on every (re)subscription (notifications may be lost).
        self._key_serials: dict[tuple[str, str], int] = {}
        self._epochs: dict[str, int] = {}
        self._changes = threading.local()
        # `gap_since` is set when the feed stops being live: documents changed after those serials
        # may be missing from Redis (a write-through that failed meanwhile), so they are repaired
        # before this process trusts Redis again (`repair_gap`). `_gaps` counts the gaps begun.
        self._gaps = 0
        self._gap_lock = threading.Lock()
        self.feed = SerialFeed(url, self.channel, self._on_message, self._resync, self._on_gap) if url else None

    def current(self, ecosystem: str) -> int:
        if self._unpublished:
            self._replay()
        feed = self.feed
        if feed is not None and feed.live:
            serial = self._pushed.get(ecosystem)
            if serial is not None:
                return serial
            serial = self._asked(ecosystem)
            if feed.live:  # subscribed before it asked: nothing published since is missed
                self._raise(ecosystem, serial)
            return serial
        return self._asked(ecosystem)

    def known(self, ecosystem: str) -> int | None:
        feed = self.feed
        if self._unpublished or feed is None or not feed.live:
            return None
        return self._pushed.get(ecosystem)

    def _asked(self, ecosystem: str) -> int:
        """Without a live feed: one GET (the journal while Redis is down or lost the key)."""
        self._ecosystems.add(ecosystem)
        if not self.redis.available:
            return self.lookup(ecosystem)
        if self._synced.get(ecosystem, 0) != self.redis.recoveries:  # (start-up resyncs: create_app; -1: a gap)
            serial = self.lookup(ecosystem)  # other processes' publishes may have been lost too
            if self._store(ecosystem, serial):
                self._synced[ecosystem] = self.redis.recoveries
            return serial
        value = self.redis.run(lambda client: client.get(self.prefix + ecosystem), _UNAVAILABLE)
        if value is _UNAVAILABLE:
            return self.lookup(ecosystem)
        if value is not None:
            return int(value)
        serial = self.lookup(ecosystem)
        self.publish(ecosystem, serial)
        return serial

    def changed(self, ecosystem: str, keys: dict[str, int]) -> None:
        pending = getattr(self._changes, "keys", None)
        if pending is None:
            pending = self._changes.keys = {}
        pending.setdefault(ecosystem, {}).update(keys)

    def validity(self, ecosystem: str) -> object | None:
        feed = self.feed
        if feed is None or not feed.live:
            return None
        return self._epochs.get(ecosystem, 0)

    def changed_at(self, ecosystem: str, key: str) -> int:
        return self._key_serials.get((ecosystem, key), 0)

    def publish(self, ecosystem: str, serial: int) -> None:
        """After a commit: this process sees `serial` at once; every other one when its feed
        delivers the notification, which is in its socket before this returns: the PING after the
        publish is answered only after Redis has written the notification to every subscriber.
        The notification names the documents this thread wrote through since its last publish."""
        self._ecosystems.add(ecosystem)
        pending = getattr(self._changes, "keys", None)
        keys = pending.pop(ecosystem, None) if pending else None
        self._apply(ecosystem, serial, keys)
        if not self._store(ecosystem, serial, keys):
            with self._lock:
                self._unpublished[ecosystem] = max(serial, self._unpublished.get(ecosystem, 0))
            return
        self.redis.run(lambda client: client.ping(), None)

    def _store(self, ecosystem: str, serial: int, keys: dict[str, int] | None = None) -> bool:
        # "<ecosystem> <serial>" then "<serial> <key>" per changed document; "... *": changes not named
        head = f"{ecosystem} {serial}" if keys is not None else f"{ecosystem} {serial} *"
        message = "\n".join([head, *(f"{doc_serial} {key}" for key, doc_serial in (keys or {}).items())])
        done = lambda client: self._set_max(keys=self._keys(ecosystem), args=[serial, self.channel, message], client=client)  # noqa: E731
        return self.redis.run(done, None) is not None

    def _keys(self, ecosystem: str) -> list[str]:
        return [self.prefix + ecosystem, self.announced_prefix + ecosystem]

    def catch_up(self, ecosystem: str, serial: int) -> None:
        """A publish without keys makes every process drop the ecosystem's memo, so a starting
        worker sends one only when the journal is ahead of every serial announced (a process died
        between its commit and its publish): starting a worker leaves the others' memos warm."""
        self._ecosystems.add(ecosystem)
        caught_up = self.redis.run(lambda client: self._caught_up(keys=self._keys(ecosystem), args=[serial], client=client), None)
        if caught_up == 0:
            self._raise(ecosystem, serial)
        else:  # behind, or Redis did not answer (the publish is then replayed when it does)
            self.publish(ecosystem, serial)

    def _raise(self, ecosystem: str, serial: int) -> None:
        with self._lock:
            if serial > self._pushed.get(ecosystem, -1):
                self._pushed[ecosystem] = serial

    def _apply(self, ecosystem: str, serial: int, keys: dict[str, int] | None) -> None:
        """Documents first, then the serial: a reader that sees the new serial sees their changes."""
        with self._lock:
            if keys is None:
                self._epochs[ecosystem] = self._epochs.get(ecosystem, 0) + 1
            else:
                if len(self._key_serials) > _MAX_KEY_SERIALS:
                    self._forget_keys()
                for key, doc_serial in keys.items():
                    if doc_serial > self._key_serials.get((ecosystem, key), -1):
                        self._key_serials[(ecosystem, key)] = doc_serial
        self._raise(ecosystem, serial)

    def _forget_keys(self) -> None:
        """Bound the memory: start a new epoch everywhere instead (call with the lock held)."""
        self._key_serials.clear()
        for ecosystem in set(self._epochs) | self._ecosystems:
            self._epochs[ecosystem] = self._epochs.get(ecosystem, 0) + 1

    def _on_message(self, payload: bytes) -> None:
        head, *lines = payload.decode("utf-8", "replace").split("\n")
        try:
            ecosystem, serial, *unnamed = head.split(" ")
            keys = None if unnamed else {key: int(doc_serial) for doc_serial, _, key in (line.partition(" ") for line in lines)}
            self._apply(ecosystem, int(serial), keys)
        except ValueError:
            log.warning("ignored a malformed serial notification: %r", payload[:100])
            with self._lock:
                self._forget_keys()

    def _on_gap(self) -> None:
        with self._lock:
            self._gaps += 1
            if self.gap_since is None:
                self.gap_since = dict(self._pushed)

    def repair_gap(self) -> None:
        """Write the documents changed since the gap began to Redis again (`gap_repairs`; another
        process's write-through may have failed while this one was not following), then read each
        serial from the journal once more and set it in Redis (a failed publish left it behind).
        Called by the feed when it resubscribes, and by a read that comes first: a process whose own
        calls never failed during an outage must not trust Redis's older copies either. Raises
        RedisUnavailable (or the database's error) when it cannot; the gap then stays pending."""
        with self._gap_lock:
            with self._lock:
                since, gaps = self.gap_since, self._gaps
            if since is None:
                return
            for repair in self.gap_repairs:
                repair(since)
            with self._lock:
                if self._gaps == gaps:  # no new gap began meanwhile
                    self.gap_since = None
                for ecosystem in self._ecosystems:
                    self._synced[ecosystem] = -1

    def _resync(self) -> None:
        """The feed (re)subscribed: notifications may have been missed, so repair the Redis copies
        written since the gap (`repair_gap`), then read every serial this process has used again
        (the journal; Redis while the database is unreachable). Raises when it cannot: not live."""
        if not self.redis.probe():  # closes this process's breaker at once: Redis answers again
            raise ConnectionError("Redis does not answer")
        self.repair_gap()
        with self._lock:
            self._forget_keys()
        for ecosystem in list(self._ecosystems):
            try:
                serial = self.lookup(ecosystem)
            except (ServiceUnavailable, InsufficientStorage):
                value = self.redis.run(lambda client: client.get(self.prefix + ecosystem), None)
                if value is None:
                    with self._lock:
                        self._pushed.pop(ecosystem, None)  # asked again on its next read
                    continue
                serial = int(value)
            self._raise(ecosystem, serial)

    def _replay(self) -> None:
        with self._lock:
            pending, self._unpublished = self._unpublished, {}
        for ecosystem, serial in pending.items():
            self.publish(ecosystem, serial)


_UNAVAILABLE = object()
_MAX_KEY_SERIALS = 200_000
