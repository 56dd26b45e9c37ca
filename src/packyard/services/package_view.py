"""Everything a person sees about one package, loaded in a fixed number of queries (never one per
version): the web interface's package page and the management API's package detail share it.

Versions and files are read as plain columns (no ORM objects, no metadata JSON); only the latest
version's stored metadata is loaded, for its summary, description and dependencies. A package
with 100 versions costs five small queries and no JSON decoding per version (bench/web_pages.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from packyard.models import Artifact, Package, User, Version
from packyard.plugins import ReleaseDetails
from packyard.services.packages import owners

if TYPE_CHECKING:
    from packyard.registry import Registry


@dataclass(frozen=True)
class FileView:
    filename: str
    platform: str | None
    size: int
    sha256: str
    md5: str
    blake2b_256: str
    uploaded_at: datetime
    yanked: bool
    yank_reason: str | None
    uploader: str | None


_FILE_COLUMNS = (
    Artifact.version_id, Artifact.filename, Artifact.platform, Artifact.size, Artifact.sha256, Artifact.md5,
    Artifact.blake2b_256, Artifact.uploaded_at, Artifact.yanked, Artifact.yank_reason, User.name,
)


@dataclass
class VersionView:
    id: int
    version: str
    created_at: datetime
    files: list[FileView]

    @property
    def yanked(self) -> bool:
        """Every file yanked (a version without files is not)."""
        return bool(self.files) and all(f.yanked for f in self.files)

    @property
    def yank_reason(self) -> str | None:
        return next((f.yank_reason for f in self.files if f.yanked and f.yank_reason), None)

    @property
    def partly_yanked(self) -> bool:
        """Some platforms' files yanked, others not (RubyGems yanks per platform)."""
        return any(f.yanked for f in self.files) and not self.yanked

    @property
    def uploaded_at(self) -> datetime:
        return max((f.uploaded_at for f in self.files), default=self.created_at)


@dataclass
class PackageView:
    package: Package
    owners: list[str]
    versions: list[VersionView]  # newest first, in the ecosystem's order
    latest: VersionView | None  # the newest version not yanked (else the newest)
    details: ReleaseDetails  # of `latest`, from its stored metadata


def load_package_view(registry: Registry, session: Session, package: Package) -> PackageView:
    adapter = registry.adapter(package.ecosystem)
    files: dict[int, list[FileView]] = {}
    rows = session.exec(
        select(*_FILE_COLUMNS).outerjoin(User, User.id == Artifact.uploader_id).where(Artifact.package_id == package.id).order_by(Artifact.id)
    )
    for version_id, *columns in rows:
        files.setdefault(version_id, []).append(FileView(*columns))
    versions = [
        VersionView(id_, version, created_at, files.get(id_, []))
        for id_, version, created_at in session.exec(select(Version.id, Version.version, Version.created_at).where(Version.package_id == package.id))
    ]
    versions.sort(key=lambda v: adapter.version_sort_key(v.version), reverse=True)
    latest = next((v for v in versions if not v.yanked), versions[0] if versions else None)
    details = ReleaseDetails()
    if latest is not None:
        version = session.get(Version, latest.id)
        artifacts = list(session.exec(select(Artifact).where(Artifact.version_id == latest.id).order_by(Artifact.id)))
        details = adapter.release_details(version, artifacts)
    return PackageView(package, [u.name for u in owners(session, package)], versions, latest, details)
