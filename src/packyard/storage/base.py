"""The blob storage interface: content-addressed bytes, written so a crash never exposes a partial blob."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from packyard.errors import PayloadTooLarge

if TYPE_CHECKING:
    from packyard.storage.staging import StagingArea


@dataclass
class StagedBlob:
    """Bytes received and hashed, waiting in a temporary file until the publishing transaction keeps them."""

    path: Path
    size: int
    sha256: str
    md5: str
    blake2b_256: str


@dataclass(frozen=True)
class StoredBlob:
    """A blob as the storage sees it; `modified` (file mtime, S3 LastModified) is its age for `packyard gc`."""

    sha256: str
    size: int
    modified: datetime  # aware, UTC


class Hasher:
    """sha256, md5 and blake2b-256 in one pass, with a size limit (`sha256_only`: md5 and blake2b
    are left empty)."""

    def __init__(self, max_bytes: int | None, *, sha256_only: bool = False):
        self.max_bytes = max_bytes
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = None if sha256_only else hashlib.md5(usedforsecurity=False)
        self._blake2 = None if sha256_only else hashlib.blake2b(digest_size=32)

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"File too large: the limit is {self.max_bytes} bytes "
                f"({self.max_bytes / 1024 / 1024:.0f} MiB); ask the registry admin to raise PACKYARD_MAX_UPLOAD_BYTES."
            )
        self._sha256.update(chunk)
        if self._md5 is not None and self._blake2 is not None:
            self._md5.update(chunk)
            self._blake2.update(chunk)

    def digests(self) -> tuple[str, str, str]:
        if self._md5 is None or self._blake2 is None:
            return self._sha256.hexdigest(), "", ""
        return self._sha256.hexdigest(), self._md5.hexdigest(), self._blake2.hexdigest()


def blob_key(sha256: str) -> str:
    """`ab/cd/<sha256>`: spreads blobs over directories (or key prefixes)."""
    if not is_sha256(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def sha256_of_key(key: str) -> str | None:
    """The digest a `ab/cd/<sha256>` key names, or None for anything else stored alongside."""
    parts = key.split("/")
    if len(parts) != 3 or not is_sha256(parts[2]) or blob_key(parts[2]) != key:
        return None
    return parts[2]


class BlobStorage(ABC):
    """Uploads are staged locally (hashing as they stream in), then kept under their sha256."""

    staging: StagingArea

    async def stage(self, chunks: AsyncIterable[bytes], max_bytes: int | None) -> StagedBlob:
        """Stream chunks into a temporary file while hashing; raises PayloadTooLarge past max_bytes."""
        return await self.staging.stage(chunks, max_bytes)

    def stage_sync(self, chunks: Iterable[bytes], max_bytes: int | None) -> StagedBlob:
        return self.staging.stage_sync(chunks, max_bytes)

    def discard(self, staged: StagedBlob) -> None:
        staged.path.unlink(missing_ok=True)

    @abstractmethod
    def keep(self, staged: StagedBlob) -> bool:
        """Move staged bytes into place under their sha256, atomically. False when the blob already existed
        (its age is then refreshed, so `packyard gc`'s grace period spares it until the caller commits);
        an object store may write a small blob again instead of asking first, and answer True."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """A seekable, readable file object (downloads seek for Range requests)."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def delete(self, sha256: str) -> None: ...

    @abstractmethod
    def stat(self, sha256: str) -> StoredBlob | None:
        """Size and age of one blob, or None when it is absent."""

    @abstractmethod
    def iter_blobs(self) -> Iterator[StoredBlob]:
        """Every blob in storage (in no particular order); staged uploads are not blobs."""

    @abstractmethod
    def check(self) -> None:
        """Raise if the storage cannot be reached (readiness probe)."""
