"""Publishing: create a package or version, or add a file to one, in one transaction.

Rules (after Gitea's CreatePackageOrAddFileToExisting and PyPI's upload):
- a filename already stored with the same sha256 is reported back as already present (`created=False`),
  so an adapter can answer a retried upload with success; with other bytes it is a FileConflict;
- the first upload of a new name claims it for the uploader; later uploads need ownership or admin;
  where the ecosystem says so, a new name equal to an existing one but for letter case is refused;
- names, versions, file names, platforms and metadata are checked against `packyard.models.limits` first,
  so nothing the database cannot store reaches it;
- the blob is stored (a local rename, an S3 PUT of up to the upload limit) *before* the write
  transaction, outside the ecosystem's write lock, so a slow blob write never holds up another
  publish; the transaction holds only row changes. Blobs are content-addressed, so storing one
  early is harmless: a blob whose transaction then fails is referred to by no row and is left for
  `packyard gc` (after its grace period) — deleting it here could pull it from under a concurrent
  upload of the same bytes, which found it already stored. No artifact row ever points at a
  missing blob. The refusals that need no lock (scope, ownership, a filename already taken, a
  name's case twin) are checked before the blob is stored, so a refused upload stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, func, select

from packyard.models import limits
from packyard.auth import Identity
from packyard.errors import FileConflict, Forbidden, NameCollision
from packyard.models import Artifact, Blob, ChangeAction, Package, PackageOwner, Version
from packyard.observability.metrics import RECORDER
from packyard.plugins import ProtocolAdapter
from packyard.services import audit, descriptions
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
    """An existing package whose name differs from ``normalized`` only in letter case. Never the
    package of that very name: `publish`'s early check runs outside the write lock, where on
    PostgreSQL a concurrent first push of the same new name may commit between its two queries."""
    return session.exec(
        select(Package).where(Package.ecosystem == ecosystem, func.lower(Package.normalized_name) == normalized.lower(),
                              Package.normalized_name != normalized)
    ).first()


def _check_new_name(session: Session, adapter: ProtocolAdapter, normalized: str, name: str, identity: Identity) -> None:
    """NameCollision when the ecosystem refuses names differing only in case and a twin exists."""
    if not adapter.names_differing_in_case_collide:
        return
    twin = _case_twin(session, adapter.ecosystem, normalized)
    if twin is None:
        return
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
    try:
        with registry.db.read() as session:  # refusals found early store no blob; the transaction re-checks
            package = get_package(session, request.ecosystem, normalized)
            _check_may_upload(session, package, identity)
            existing = find_artifact(session, request.ecosystem, request.filename)
            if existing is not None:
                _check_same_file(request, existing, package)
            elif package is None:
                _check_new_name(session, adapter, normalized, request.name, identity)
        registry.storage.keep(request.staged)  # slow (an S3 PUT): outside the write lock
        with registry.db.write(lock=request.ecosystem) as session:
            now = registry.clock.now()
            package = get_package(session, request.ecosystem, normalized)
            _check_may_upload(session, package, identity)
            existing = find_artifact(session, request.ecosystem, request.filename)
            if existing is not None:
                _check_same_file(request, existing, package)
                return PublishResult(False, session.get(Package, existing.package_id), session.get(Version, existing.version_id), existing, None)

            if package is None:
                _check_new_name(session, adapter, normalized, request.name, identity)
                package = Package(ecosystem=request.ecosystem, name=request.name, normalized_name=normalized, created_at=now)
                session.add(package)
                session.flush()
                session.add(PackageOwner(package_id=package.id, user_id=identity.user.id))
                audit.record(session, now, "package.claim", identity, remote_addr, ecosystem=request.ecosystem, package=normalized)

            version = get_version(session, package, request.version)
            if version is None:
                version = Version(package_id=package.id, version=request.version, created_at=now, meta=request.version_meta or {})
                session.add(version)
                session.flush()

            if session.get(Blob, request.staged.sha256) is None:
                session.add(Blob(sha256=request.staged.sha256, size=request.staged.size, created_at=now))

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
            change = record_change(registry, session, ChangeAction.PUBLISH, package, version, [artifact], {"filename": request.filename})
            audit.record(
                session, now, "file.publish", identity, remote_addr,
                ecosystem=request.ecosystem, package=normalized, version=request.version,
                detail={"filename": request.filename, "sha256": request.staged.sha256},
            )
    finally:
        registry.storage.discard(request.staged)  # a no-op once kept
    registry.publish_serial(request.ecosystem, change.serial)
    descriptions.keep_after_publish(registry.db, adapter.release_details(version, [artifact]))
    RECORDER.count("packyard_uploaded_bytes_total", (request.ecosystem,), artifact.size)
    RECORDER.count("packyard_uploaded_files_total", (request.ecosystem,))
    return PublishResult(True, package, version, artifact, change.serial)


def _check_may_upload(session, package: Package | None, identity: Identity) -> None:
    if package is not None and not identity.is_admin and not is_owner(session, package, identity.user):
        raise Forbidden(
            f"The user '{identity.name}' isn't allowed to upload to '{package.name}': "
            "only its owners can; ask an owner to add you."
        )
    if package is not None and package.status in UPLOAD_REFUSING_STATUSES:
        reason = f" ({package.status_reason})" if package.status_reason else ""
        raise Forbidden(f"'{package.name}' is {package.status}{reason} and accepts no uploads.")


def _check_same_file(request: PublishRequest, existing: Artifact, package: Package | None) -> None:
    """A filename already stored is fine only with the same bytes in the same package (a retried upload)."""
    if existing.sha256 != request.staged.sha256 or package is None or existing.package_id != package.id:
        raise FileConflict(
            f"File already exists ('{request.filename}', with sha256 '{existing.sha256}'): "
            "a published file never changes; publish a new version instead."
        )
