"""Publishing: create a package or version, or add a file to one, in one transaction.

Rules (after Gitea's CreatePackageOrAddFileToExisting and PyPI's upload):
- a filename already stored with the same sha256 is reported back as already present (`created=False`),
  so an adapter can answer a retried upload with success; with other bytes it is a FileConflict;
- the first upload of a new name claims it for the uploader; later uploads need ownership or admin;
  where the ecosystem says so, a new name equal to an existing one but for letter case is refused;
- names, versions, file names, platforms and metadata are checked against `packyard.limits` first,
  so nothing the database cannot store reaches it;
- the blob is moved into place before the rows are committed and removed again if the commit fails,
  so no artifact row ever points at a missing blob.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, func, select

from packyard import limits
from packyard.auth import Identity
from packyard.errors import FileConflict, Forbidden, NameCollision
from packyard.models import Artifact, Blob, Package, PackageOwner, Version
from packyard.plugins import ProtocolAdapter
from packyard.services import audit
from packyard.services.journal import record_change
from packyard.services.packages import find_artifact, get_package, get_version, is_owner
from packyard.storage import StagedBlob

if TYPE_CHECKING:
    from packyard.registry import Registry

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


def check_storable(adapter: ProtocolAdapter, request: PublishRequest) -> None:
    """BadRequest unless the database can store every value of the request."""
    limits.check_text(request.name, f"{adapter.scope_noun} name", adapter.max_name_length)
    limits.check_text(request.version, "version", adapter.max_version_length)
    limits.check_text(request.filename, "file name", limits.FILENAME_LENGTH)
    if request.platform is not None:
        limits.check_text(request.platform, "platform", limits.PLATFORM_LENGTH)
    limits.check_json(request.artifact_meta, "file's metadata")
    limits.check_json(request.version_meta, "version's metadata")


def _case_twin(session: Session, ecosystem: str, normalized: str) -> Package | None:
    """An existing package whose name differs from ``normalized`` only in letter case."""
    return session.exec(
        select(Package).where(Package.ecosystem == ecosystem, func.lower(Package.normalized_name) == normalized.lower())
    ).first()


def _refuse_case_twin(session: Session, adapter: ProtocolAdapter, twin: Package, name: str, identity: Identity) -> None:
    raise NameCollision(
        f"The {adapter.scope_noun} name '{name}' differs only in letter case from the existing "
        f"{adapter.scope_noun} '{twin.name}'; such names are refused (they invite typosquatting).",
        existing_name=twin.name,
        caller_owns_it=identity.is_admin or is_owner(session, twin, identity.user),
    )


def publish(registry: Registry, request: PublishRequest, identity: Identity, remote_addr: str | None = None) -> PublishResult:
    adapter = registry.adapter(request.ecosystem)
    try:
        check_storable(adapter, request)
    except BaseException:
        registry.storage.discard(request.staged)
        raise
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

            if package is None and adapter.names_differing_in_case_collide:
                twin = _case_twin(session, request.ecosystem, normalized)
                if twin is not None:
                    _refuse_case_twin(session, adapter, twin, request.name, identity)
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
            registry.storage.delete(request.staged.sha256)
        raise
    registry.publish_serial(request.ecosystem, change.serial)
    return PublishResult(True, package, version, artifact, change.serial)
