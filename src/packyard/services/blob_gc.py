"""`packyard gc`: find and remove blobs no row refers to.

Such blobs are the leftovers of a crash (or a failed commit whose clean-up failed) between the
blob write and the commit. A blob younger than the grace period is never touched: it may belong
to a publish whose transaction has not committed yet. `keep()` resets the age of a blob that is
kept again, so an old orphan a new publish re-uses is young again before its row commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlmodel import select

from packyard.models import Artifact, Blob
from packyard.storage import StoredBlob

if TYPE_CHECKING:
    from packyard.registry import Registry


@dataclass
class GcScan:
    orphans: list[StoredBlob] = field(default_factory=list)  # unreferenced and older than the grace
    young: list[StoredBlob] = field(default_factory=list)  # unreferenced but within the grace: kept
    referenced: int = 0


def _is_referenced(registry: Registry, sha256: str) -> bool:
    with registry.db.read() as session:
        if session.get(Blob, sha256) is not None:
            return True
        return session.exec(select(Artifact.id).where(Artifact.blob_sha256 == sha256).limit(1)).first() is not None


def scan(registry: Registry, grace: timedelta) -> GcScan:
    """Storage's blobs, split by whether a row refers to them and by age (wall-clock time: the
    ages come from the storage's own timestamps)."""
    with registry.db.read() as session:
        referenced = set(session.exec(select(Blob.sha256))) | set(session.exec(select(Artifact.blob_sha256)))
    cutoff = datetime.now(timezone.utc) - grace
    result = GcScan()
    for blob in registry.storage.iter_blobs():
        if blob.sha256 in referenced:
            result.referenced += 1
        elif blob.modified <= cutoff:
            result.orphans.append(blob)
        else:
            result.young.append(blob)
    result.orphans.sort(key=lambda b: b.modified)
    return result


def delete_orphan(registry: Registry, blob: StoredBlob, grace: timedelta) -> bool:
    """Remove one orphan, checking again first that no row refers to it and that it is still
    old (a publish may have kept it again since the scan). True when removed."""
    if _is_referenced(registry, blob.sha256):
        return False
    now = registry.storage.stat(blob.sha256)
    if now is None or now.modified > datetime.now(timezone.utc) - grace:
        return False
    registry.storage.delete(blob.sha256)
    return True
