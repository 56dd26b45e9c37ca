"""Small stored blobs kept in memory, per process, so that a download of one is answered on the
event loop like a stored page, without the thread hop a file read needs.

Under many concurrent readers that hop is what a download's latency tail is made of: every
download waits for a worker thread, which waits for the GIL and the CPU beside the publishes and
the other reads. Blobs are content-addressed, so bytes kept under a sha256 are never stale. Bounded
by total size, least recently used first out; only blobs up to `SMALL_BLOB` bytes (one read chunk,
what a download of them reads in its one hop anyway) are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import BinaryIO

import anyio.to_thread

from packyard.http.serve import FILE_CHUNK

SMALL_BLOB = FILE_CHUNK
MAX_BYTES = 64 * 1024 * 1024  # per worker process


class SmallBlobs:
    """Used from the event loop only (its one thread hop returns there before the cache changes)."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._total = 0

    def cached(self, sha256: str, size: int) -> bytes | None:
        """The blob's bytes if they are kept here (no I/O), else None."""
        if size > SMALL_BLOB:
            return None
        body = self._bodies.get(sha256)
        if body is not None:
            self._bodies.move_to_end(sha256)
        return body

    async def body(self, sha256: str, size: int, opener: Callable[[], BinaryIO]) -> bytes | None:
        """The blob's bytes when it is small (read once, in a thread), else None: stream it."""
        body = self.cached(sha256, size)
        if body is not None or size > SMALL_BLOB:
            return body

        def read() -> bytes:
            with opener() as handle:
                return handle.read(size + 1)

        body = await anyio.to_thread.run_sync(read)
        if len(body) != size:  # not what the document says: serve it the ordinary way, keep nothing
            return None
        if sha256 not in self._bodies:
            self._bodies[sha256] = body
            self._total += size
            while self._total > self.max_bytes:
                _, evicted = self._bodies.popitem(last=False)
                self._total -= len(evicted)
        return body


SMALL_BLOBS = SmallBlobs()
