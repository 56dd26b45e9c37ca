"""Receiving an upload into a local temporary file while hashing it, shared by every storage backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterable, Iterable
from pathlib import Path

import anyio

from packyard.resilience.faults import disk_faults_as_errors
from packyard.storage.base import Hasher, StagedBlob


WRITE_BATCH = 1024 * 1024  # bytes handed to the writer thread at once


class StagingArea:
    """`<dir>/*.part` files: never visible as blobs, swept at start-up after a crash.

    A full disk ends the upload with InsufficientStorage (507) and the `.part` file removed."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    def _open(self, max_bytes: int | None) -> PartFile:
        return PartFile(self.directory / f"{uuid.uuid4().hex}.part", max_bytes)

    def open_part(self, max_bytes: int | None, *, sha256_only: bool = False) -> PartFile:
        """A `.part` file to write chunks to as they arrive (the caller finishes or aborts it);
        `sha256_only` skips md5 and blake2b (a proxied download needs only the sha256 it checks)."""
        with disk_faults_as_errors():
            return PartFile(self.directory / f"{uuid.uuid4().hex}.part", max_bytes, sha256_only=sha256_only)

    async def stage(self, chunks: AsyncIterable[bytes], max_bytes: int | None) -> StagedBlob:
        """Chunks arrive on the event loop; hashing, writing and the fsync run in a worker thread,
        `WRITE_BATCH` bytes at a time, so requests served by the same loop never wait behind an
        upload's disk and CPU work (and memory stays bounded)."""
        with disk_faults_as_errors():
            part = await anyio.to_thread.run_sync(self._open, max_bytes)
            try:
                batch: list[bytes] = []
                size = 0
                async for chunk in chunks:
                    batch.append(chunk)
                    size += len(chunk)
                    if size >= WRITE_BATCH:
                        await anyio.to_thread.run_sync(part.write_all, batch)
                        batch, size = [], 0
                await anyio.to_thread.run_sync(part.write_all, batch)
                return await anyio.to_thread.run_sync(part.finish)
            except BaseException:  # a close and an unlink: done here, as a cancelled task may not await again
                part.abort()
                raise

    def stage_sync(self, chunks: Iterable[bytes], max_bytes: int | None) -> StagedBlob:
        with disk_faults_as_errors():
            part = self._open(max_bytes)
            try:
                for chunk in chunks:
                    part.write(chunk)
                return part.finish()
            except BaseException:
                part.abort()
                raise

    def sweep(self) -> None:
        for leftover in self.directory.glob("*.part"):
            leftover.unlink(missing_ok=True)


class PartFile:
    """One upload in flight: bytes go to disk and through the hasher together."""

    def __init__(self, path: Path, max_bytes: int | None, *, sha256_only: bool = False):
        self.path = path
        self.hasher = Hasher(max_bytes, sha256_only=sha256_only)
        self.handle = open(path, "wb")

    def write(self, chunk: bytes) -> None:
        if chunk:
            self.hasher.update(chunk)
            self.handle.write(chunk)

    def write_all(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def finish(self) -> StagedBlob:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        sha256, md5, blake2 = self.hasher.digests()
        return StagedBlob(path=self.path, size=self.hasher.size, sha256=sha256, md5=md5, blake2b_256=blake2)

    def abort(self) -> None:
        try:
            self.handle.close()  # flushing a full disk's buffer fails again: the file goes anyway
        except OSError:
            pass
        self.path.unlink(missing_ok=True)
