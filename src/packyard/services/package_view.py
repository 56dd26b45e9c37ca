"""Everything a person sees about one package, loaded in a fixed number of queries (never one per
version): the web interface's package page and the management API's package detail share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from packyard.models import Artifact, Package, User, Version
from packyard.plugins import ReleaseDetails
from packyard.services.packages import list_versions, owners

if TYPE_CHECKING:
    from packyard.registry import Registry


@dataclass
class FileView:
    artifact: Artifact
    uploader: str | None


@dataclass
class VersionView:
    version: Version
    files: list[FileView]
    details: ReleaseDetails

    @property
    def yanked(self) -> bool:
        """Every file yanked (a version without files is not)."""
        return bool(self.files) and all(f.artifact.yanked for f in self.files)

    @property
    def yank_reason(self) -> str | None:
        return next((f.artifact.yank_reason for f in self.files if f.artifact.yanked and f.artifact.yank_reason), None)

    @property
    def partly_yanked(self) -> bool:
        """Some platforms' files yanked, others not (RubyGems yanks per platform)."""
        return any(f.artifact.yanked for f in self.files) and not self.yanked

    @property
    def uploaded_at(self) -> datetime:
        return max((f.artifact.uploaded_at for f in self.files), default=self.version.created_at)


@dataclass
class PackageView:
    package: Package
    owners: list[str]
    versions: list[VersionView]  # newest first, in the ecosystem's order

    @property
    def latest(self) -> VersionView | None:
        """The newest version that is not yanked (else the newest)."""
        return next((v for v in self.versions if not v.yanked), self.versions[0] if self.versions else None)


def load_package_view(registry: Registry, session: Session, package: Package) -> PackageView:
    """Three queries: versions, files with their uploaders, owners."""
    adapter = registry.adapter(package.ecosystem)
    rows = session.exec(
        select(Artifact, User.name).outerjoin(User, User.id == Artifact.uploader_id).where(Artifact.package_id == package.id).order_by(Artifact.id)
    )
    files: dict[int, list[FileView]] = {}
    for artifact, uploader in rows:
        files.setdefault(artifact.version_id, []).append(FileView(artifact, uploader))
    versions = sorted(list_versions(session, package), key=lambda v: adapter.version_sort_key(v.version), reverse=True)
    views = []
    for version in versions:
        version_files = files.get(version.id, [])
        details = adapter.release_details(version, [f.artifact for f in version_files])
        views.append(VersionView(version, version_files, details))
    return PackageView(package, [u.name for u in owners(session, package)], views)
