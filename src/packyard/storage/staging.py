"""Receiving an upload into a local temporary file while hashing it, shared by every storage backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterable, Iterable
from pathlib import Path

from packyard.storage.base import Hasher, StagedBlob


class StagingArea:
    """`<dir>/*.part` files: never visible as blobs, swept at start-up after a crash."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    def _new(self) -> Path:
        return self.directory / f"{uuid.uuid4().hex}.part"

    @staticmethod
    def _finish(tmp: Path, handle, hasher: Hasher) -> StagedBlob:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        sha256, md5, blake2 = hasher.digests()
        return StagedBlob(path=tmp, size=hasher.size, sha256=sha256, md5=md5, blake2b_256=blake2)

    async def stage(self, chunks: AsyncIterable[bytes], max_bytes: int | None) -> StagedBlob:
        tmp = self._new()
        hasher = Hasher(max_bytes)
        handle = open(tmp, "wb")
        try:
            async for chunk in chunks:
                if chunk:
                    hasher.update(chunk)
                    handle.write(chunk)
            return self._finish(tmp, handle, hasher)
        except BaseException:
            handle.close()
            tmp.unlink(missing_ok=True)
            raise

    def stage_sync(self, chunks: Iterable[bytes], max_bytes: int | None) -> StagedBlob:
        tmp = self._new()
        hasher = Hasher(max_bytes)
        handle = open(tmp, "wb")
        try:
            for chunk in chunks:
                if chunk:
                    hasher.update(chunk)
                    handle.write(chunk)
            return self._finish(tmp, handle, hasher)
        except BaseException:
            handle.close()
            tmp.unlink(missing_ok=True)
            raise

    def sweep(self) -> None:
        for leftover in self.directory.glob("*.part"):
            leftover.unlink(missing_ok=True)
