"""Writing a first download to its staging `.part` file (and through sha256) on a thread of its
own, a bounded number of chunks behind the event loop.

The loop hands each chunk over and goes on reading the upstream and sending to the client; it
waits only when the writer is `depth` chunks behind (the disk is slower than the network), so the
disk and the network overlap without a thread hop per chunk in the loop's path, and memory stays
bounded by `depth` chunks.
"""

from __future__ import annotations

import asyncio
import queue
import threading

from packyard.resilience.faults import disk_faults_as_errors
from packyard.storage.base import StagedBlob
from packyard.storage.staging import PartFile


class StagingWriter:
    def __init__(self, part: PartFile, depth: int):
        self._part = part
        self._loop = asyncio.get_running_loop()
        self._room = asyncio.Semaphore(depth)
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._stopping = self._exited = self._aborted = False
        threading.Thread(target=self._run, name="packyard-upstream-writer", daemon=True).start()

    async def write(self, chunk: bytes) -> None:
        """Queue `chunk`; raises the writer's error (a full disk: 507) as soon as it is known."""
        await self._room.acquire()
        if self._error is not None:
            raise self._error
        self._chunks.put(chunk)

    async def finish(self) -> StagedBlob:
        """Wait for every queued chunk, then flush and fsync the file: the staged blob with its sha256."""
        self._stop()
        await self._done
        if self._error is not None:
            raise self._error
        with disk_faults_as_errors():
            return await asyncio.to_thread(self._part.finish)

    def abort(self) -> None:
        """Drop the file: now if the thread has ended, else by the thread after the write in flight."""
        with self._lock:
            self._aborted = True
            exited = self._exited
        self._stop()
        if exited:
            self._part.abort()

    def _stop(self) -> None:
        if not self._stopping:
            self._stopping = True
            self._chunks.put(None)

    def _run(self) -> None:
        try:
            while (chunk := self._chunks.get()) is not None:
                if self._error is None:
                    try:
                        with disk_faults_as_errors():
                            self._part.write(chunk)
                    except BaseException as exc:  # reported to the loop by the next write() or finish()
                        self._error = exc
                self._notify(self._room.release)
        finally:
            with self._lock:
                self._exited = True
                aborted = self._aborted
            if aborted:
                self._part.abort()
            self._notify(lambda: self._done.done() or self._done.set_result(None))

    def _notify(self, callback) -> None:
        try:
            self._loop.call_soon_threadsafe(callback)
        except RuntimeError:  # the loop has closed (shutting down): nobody is waiting
            pass
