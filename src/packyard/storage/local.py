"""Blobs as files under one directory: `<root>/<aa>/<bb>/<sha256>`, staged in `<root>/.incoming/`."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import BinaryIO

from packyard.storage.base import BlobStorage, Hasher, StagedBlob


class LocalBlobStorage(BlobStorage):
    def __init__(self, root: Path):
        self.root = root
        self.incoming = root / ".incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _new_temp(self) -> Path:
        return self.incoming / f"{uuid.uuid4().hex}.part"

    def _finish(self, tmp: Path, handle, hasher: Hasher) -> StagedBlob:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        sha256, md5, blake2 = hasher.digests()
        return StagedBlob(path=tmp, size=hasher.size, sha256=sha256, md5=md5, blake2b_256=blake2)

    async def stage(self, chunks: AsyncIterable[bytes], max_bytes: int | None) -> StagedBlob:
        tmp = self._new_temp()
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
        tmp = self._new_temp()
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

    def keep(self, staged: StagedBlob) -> bool:
        final = self.path(staged.sha256)
        if final.exists():
            staged.path.unlink(missing_ok=True)
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, final)  # atomic on one filesystem: a blob is either whole or absent
        return True

    def discard(self, staged: StagedBlob) -> None:
        staged.path.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def check(self) -> None:
        probe = self.incoming / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()

    def sweep_incoming(self) -> None:
        """Remove temp files left by a crashed process (they were never visible as blobs)."""
        for leftover in self.incoming.glob("*.part"):
            leftover.unlink(missing_ok=True)
