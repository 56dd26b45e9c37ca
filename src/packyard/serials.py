"""Where each process learns an ecosystem's latest change serial, cheaply enough for every read.

Read paths key their cached bytes on the serial, so this lookup is the whole cost of knowing that
a cached page is still current. It must be cross-process (workers, the CLI) and immediate (a yank
shows on the very next request, in any worker):

- embedded default (SQLite): a small file per ecosystem beside the database, replaced atomically
  after each commit; a reader only `stat`s it (about a microsecond, no thread hop) and re-reads it
  when it changed;
- with Redis: one GET (set-max after each commit, so writers finishing out of order never move it back);
- otherwise (PostgreSQL without Redis): an indexed lookup of the journal.

A board that has no value (a fresh Redis, a missing file) falls back to the journal.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from redis.exceptions import RedisError

log = logging.getLogger("packyard.serials")

JournalLookup = Callable[[str], int]


class SerialBoard(ABC):
    def __init__(self, lookup: JournalLookup):
        self.lookup = lookup

    @abstractmethod
    def current(self, ecosystem: str) -> int: ...

    @abstractmethod
    def publish(self, ecosystem: str, serial: int) -> None:
        """Called after a commit; never moves the serial backwards."""


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

    def _path(self, ecosystem: str) -> Path:
        return self.directory / f"{ecosystem}.serial"

    def current(self, ecosystem: str) -> int:
        path = self._path(ecosystem)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            serial = self.lookup(ecosystem)
            self.publish(ecosystem, serial)
            return serial
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        seen = self._seen.get(ecosystem)
        if seen is not None and seen[0] == stamp:
            return seen[1]
        try:
            serial = int(path.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return self.lookup(ecosystem)
        self._seen[ecosystem] = (stamp, serial)
        return serial

    def publish(self, ecosystem: str, serial: int) -> None:
        path = self._path(ecosystem)
        with self._lock, open(self.directory / f".{ecosystem}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # writers in other processes too
            try:
                if int(path.read_text() or 0) >= serial:
                    return
            except (FileNotFoundError, ValueError):
                pass
            tmp = self.directory / f".{ecosystem}.{os.getpid()}.tmp"
            tmp.write_text(str(serial))
            os.replace(tmp, path)


class RedisSerialBoard(SerialBoard):
    # Set only if it grows. The key expires, so a publish lost while Redis was away heals itself
    # from the journal within minutes.
    _SET_MAX = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'EX', 300) end
return 1
"""

    def __init__(self, lookup: JournalLookup, client, prefix: str):
        super().__init__(lookup)
        self.client = client
        self.prefix = prefix + "serial:"
        self._set_max = client.register_script(self._SET_MAX)
        self._unpublished: dict[str, int] = {}

    def current(self, ecosystem: str) -> int:
        try:
            value = self.client.get(self.prefix + ecosystem)
        except RedisError:  # Redis away: the journal answers until it returns
            return self.lookup(ecosystem)
        if self._unpublished:
            self._retry()
            value = self.client.get(self.prefix + ecosystem)
        if value is not None:
            return int(value)
        serial = self.lookup(ecosystem)
        self.publish(ecosystem, serial)
        return serial

    def _retry(self) -> None:
        for ecosystem, serial in list(self._unpublished.items()):
            self.publish(ecosystem, serial)

    def publish(self, ecosystem: str, serial: int) -> None:
        try:
            self._set_max(keys=[self.prefix + ecosystem], args=[serial])
            if self._unpublished.get(ecosystem, -1) <= serial:
                self._unpublished.pop(ecosystem, None)
        except RedisError:
            # kept, and published again once Redis answers (this process's next read or write)
            self._unpublished[ecosystem] = max(serial, self._unpublished.get(ecosystem, 0))
            log.warning("Redis unreachable: serial %s of %s not published there (readers use the journal meanwhile)", serial, ecosystem)
