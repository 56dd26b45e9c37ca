"""`packyard check`: do the stored blobs and documents still say what the database says?

Blobs: every blob a file refers to must be in storage with the recorded size and sha256 (each
distinct blob is read once, however many files share it). Documents: each adapter re-renders what
it stores and reports any difference (`ProtocolAdapter.check_documents`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel import select

from packyard.models import Artifact, Blob

if TYPE_CHECKING:
    from packyard.registry import Registry

READ_CHUNK = 1024 * 1024


@dataclass
class ReferencedBlob:
    """A blob row and the files (`ecosystem:filename`) that refer to it."""

    sha256: str
    size: int
    files: list[str] = field(default_factory=list)

    def describe(self) -> str:
        shown = ", ".join(self.files[:3]) + (f" and {len(self.files) - 3} more" if len(self.files) > 3 else "")
        return f"blob {self.sha256} (file {shown})"


def referenced_blobs(registry: Registry) -> tuple[list[ReferencedBlob], list[str]]:
    """The blobs files refer to, and the problems visible in the rows alone (a file whose
    recorded size or sha256 differs from its blob's)."""
    blobs: dict[str, ReferencedBlob] = {}
    problems = []
    with registry.db.read() as session:
        rows = session.exec(select(Artifact, Blob).join(Blob, Blob.sha256 == Artifact.blob_sha256).order_by(Artifact.id))
        for artifact, blob in rows:
            name = f"{artifact.ecosystem}:{artifact.filename}"
            entry = blobs.setdefault(blob.sha256, ReferencedBlob(blob.sha256, blob.size))
            entry.files.append(name)
            if artifact.sha256 != blob.sha256 or artifact.size != blob.size:
                problems.append(
                    f"file {name} records sha256 {artifact.sha256} and {artifact.size} bytes, "
                    f"but its blob is {blob.sha256} with {blob.size} bytes"
                )
    return list(blobs.values()), problems


def check_blob(registry: Registry, blob: ReferencedBlob) -> str | None:
    """Read the blob whole; a description of what is wrong with it, or None."""
    digest, size = hashlib.sha256(), 0
    try:
        with registry.storage.open(blob.sha256) as handle:
            while chunk := handle.read(READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        return f"{blob.describe()} is missing from storage"
    if size != blob.size:
        return f"{blob.describe()} has {size} bytes in storage, {blob.size} recorded"
    if digest.hexdigest() != blob.sha256:
        return f"{blob.describe()} is corrupt: its bytes hash to {digest.hexdigest()}"
    return None


def document_problems(registry: Registry) -> Iterator[str]:
    """Every adapter's stored documents against a fresh render, each problem prefixed by its ecosystem.

    Each adapter reads one snapshot, so a change committing meanwhile is never half seen (SQLite's
    read transactions are snapshots already; PostgreSQL needs REPEATABLE READ for that)."""
    for ecosystem, adapter in registry.adapters.items():
        with registry.db.read() as session:
            if not registry.db.is_sqlite:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            for problem in adapter.check_documents(session, registry):
                yield f"{ecosystem}: {problem}"
