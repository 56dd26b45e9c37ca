"""Publishing: create a package or version, or add a file to one, in one transaction.

Rules (after Gitea's CreatePackageOrAddFileToExisting and PyPI's upload):
- a filename already stored with the same sha256 is reported back as already present (`created=False`),
  so an adapter can answer a retried upload with success; with other bytes it is a FileConflict;
- the first upload of a new name claims it for the uploader; later uploads need ownership or admin;
- the blob is moved into place before the rows are committed and removed again if the commit fails,
  so no artifact row ever points at a missing blob.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packyard.auth import Identity
from packyard.errors import FileConflict, Forbidden
from packyard.models import Artifact, Blob, Package, PackageOwner, Version
from packyard.services import audit
from packyard.services.journal import record_change
from packyard.services.packages import find_artifact, get_package, get_version, is_owner
from packyard.storage import StagedBlob

if TYPE_CHECKING:
    from packyard.registry import Registry

log = logging.getLogger("packyard")

UPLOAD_REFUSING_STATUSES = ("archived", "quarantined")


@dataclass
class PublishRequest:
    ecosystem: str
    name: str  # as the client spelled it; becomes the display name of a new package
    version: str
    filename: str
    staged: StagedBlob
    artifact_meta: dict[str, Any] = field(default_factory=dict)
    version_meta: dict[str, Any] | None = None  # stored when the version is created
    platform: str | None = None


@dataclass
class PublishResult:
    created: bool  # False: this exact file was already there; nothing changed
    package: Package
    version: Version
    artifact: Artifact
    serial: int | None


def publish(registry: Registry, request: PublishRequest, identity: Identity, remote_addr: str | None = None) -> PublishResult:
    adapter = registry.adapter(request.ecosystem)
    normalized = adapter.normalize_name(request.name)
    if not identity.allows(request.ecosystem, normalized, "write"):
        registry.storage.discard(request.staged)
        raise Forbidden(
            f"The token isn't allowed to upload to '{request.name}': it needs the scope "
            f"'{request.ecosystem}:{adapter.scope_noun}:{normalized}:write'."
        )
    blob_added = False
    try:
        with registry.db.write(lock=request.ecosystem) as session:
            now = registry.clock.now()
            package = get_package(session, request.ecosystem, normalized)
            if package is not None and not identity.is_admin and not is_owner(session, package, identity.user):
                raise Forbidden(
                    f"The user '{identity.name}' isn't allowed to upload to '{package.name}': "
                    "only its owners can; ask an owner to add you."
                )
            existing = find_artifact(session, request.ecosystem, request.filename)
            if existing is not None:
                if existing.sha256 != request.staged.sha256 or package is None or existing.package_id != package.id:
                    raise FileConflict(
                        f"File already exists ('{request.filename}', with sha256 '{existing.sha256}'): "
                        "a published file never changes; publish a new version instead."
                    )
                registry.storage.discard(request.staged)
                return PublishResult(False, session.get(Package, existing.package_id), session.get(Version, existing.version_id), existing, None)

            if package is None:
                package = Package(ecosystem=request.ecosystem, name=request.name, normalized_name=normalized, created_at=now)
                session.add(package)
                session.flush()
                session.add(PackageOwner(package_id=package.id, user_id=identity.user.id))
                audit.record(session, now, "package.claim", identity, remote_addr, ecosystem=request.ecosystem, package=normalized)
            elif package.status in UPLOAD_REFUSING_STATUSES:
                reason = f" ({package.status_reason})" if package.status_reason else ""
                raise Forbidden(f"'{package.name}' is {package.status}{reason} and accepts no uploads.")

            version = get_version(session, package, request.version)
            if version is None:
                version = Version(package_id=package.id, version=request.version, created_at=now, meta=request.version_meta or {})
                session.add(version)
                session.flush()

            if session.get(Blob, request.staged.sha256) is None:
                blob_added = registry.storage.keep(request.staged)
                session.add(Blob(sha256=request.staged.sha256, size=request.staged.size, created_at=now))
            else:
                registry.storage.discard(request.staged)

            artifact = Artifact(
                version_id=version.id,
                package_id=package.id,
                ecosystem=request.ecosystem,
                filename=request.filename,
                platform=request.platform,
                size=request.staged.size,
                sha256=request.staged.sha256,
                md5=request.staged.md5,
                blake2b_256=request.staged.blake2b_256,
                blob_sha256=request.staged.sha256,
                meta=request.artifact_meta,
                uploader_id=identity.user.id,
                uploaded_at=now,
            )
            session.add(artifact)
            session.flush()
            change = record_change(registry, session, "publish", package, version, [artifact], {"filename": request.filename})
            audit.record(
                session, now, "file.publish", identity, remote_addr,
                ecosystem=request.ecosystem, package=normalized, version=request.version,
                detail={"filename": request.filename, "sha256": request.staged.sha256},
            )
    except BaseException:
        registry.storage.discard(request.staged)
        if blob_added:
            _delete_unreferenced_blob(registry, request.ecosystem, request.staged.sha256)
        raise
    registry.publish_serial(request.ecosystem, change.serial)
    return PublishResult(True, package, version, artifact, change.serial)


def _delete_unreferenced_blob(registry: Registry, ecosystem: str, sha256: str) -> None:
    """Remove a blob this failed publish stored, unless another publish has claimed it meanwhile.

    The failed transaction has already released the ecosystem's lock; another replica may have
    stored the same bytes since (a load balancer retrying the upload elsewhere) and found the blob
    present. Checking for its row again under the lock keeps that publish's blob in place. When
    the database cannot even be asked, the blob stays: an unreferenced blob is harmless, a
    referenced one gone is not."""
    try:
        with registry.db.write(lock=ecosystem) as session:
            if session.get(Blob, sha256) is None:
                registry.storage.delete(sha256)
    except Exception as exc:  # noqa: BLE001 - the original failure is what the caller reports
        log.warning("kept unreferenced blob %s after a failed publish: %s", sha256, exc)
