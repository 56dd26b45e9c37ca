"""Blob storage, chosen by `PACKYARD_STORAGE_URL`: `file:///path` (default) or `s3://bucket/prefix`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from packyard.storage.base import BlobStorage, StagedBlob, StoredBlob
from packyard.storage.local import LocalBlobStorage

__all__ = ["BlobStorage", "LocalBlobStorage", "StagedBlob", "StoredBlob", "open_storage"]


def open_storage(url: str, staging_dir: Path) -> BlobStorage:
    """`staging_dir` holds uploads in flight for backends that are not a local directory."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStorage(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        from packyard.storage.s3 import S3BlobStorage

        return S3BlobStorage(url, staging_dir)
    raise ValueError(f"PACKYARD_STORAGE_URL scheme {parsed.scheme!r} is not supported: use file:///path or s3://bucket/prefix")
