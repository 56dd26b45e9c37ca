"""Blobs as files under one directory: `<root>/<aa>/<bb>/<sha256>`, staged in `<root>/.incoming/`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from packyard.resilience.faults import disk_faults_as_errors
from packyard.storage.base import BlobStorage, StagedBlob, StoredBlob, blob_key, sha256_of_key
from packyard.storage.staging import StagingArea


class LocalBlobStorage(BlobStorage):
    def __init__(self, root: Path):
        self.root = root
        self.staging = StagingArea(root / ".incoming")  # same filesystem: keep() is a rename

    def path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def keep(self, staged: StagedBlob) -> bool:
        final = self.path(staged.sha256)
        if final.exists():
            try:
                os.utime(final)  # refresh its age for gc's grace period
            except FileNotFoundError:
                pass  # collected just now: store it again below
            else:
                staged.path.unlink(missing_ok=True)
                return False
        with disk_faults_as_errors():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged.path, final)  # atomic on one filesystem: a blob is either whole or absent
        return True

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def stat(self, sha256: str) -> StoredBlob | None:
        try:
            info = self.path(sha256).stat()
        except FileNotFoundError:
            return None
        return StoredBlob(sha256, info.st_size, datetime.fromtimestamp(info.st_mtime, timezone.utc))

    def iter_blobs(self) -> Iterator[StoredBlob]:
        for path in self.root.glob("??/??/*"):
            sha256 = sha256_of_key(path.relative_to(self.root).as_posix())
            if sha256 is not None and (found := self.stat(sha256)) is not None:
                yield found

    def check(self) -> None:
        probe = self.staging.directory / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
