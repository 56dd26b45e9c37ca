"""Blob storage, chosen by `PACKYARD_STORAGE_URL`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from packyard.storage.base import BlobStorage, StagedBlob
from packyard.storage.local import LocalBlobStorage

__all__ = ["BlobStorage", "LocalBlobStorage", "StagedBlob", "open_storage"]


def open_storage(url: str) -> BlobStorage:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStorage(Path(unquote(parsed.path)))
    raise ValueError(f"PACKYARD_STORAGE_URL scheme {parsed.scheme!r} is not supported; use file:///path/to/blobs")
