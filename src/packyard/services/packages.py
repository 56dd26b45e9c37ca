"""Read-side queries on packages, versions and artifacts."""

from __future__ import annotations

from sqlalchemy import and_, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from packyard.models import limits
from packyard.models import Artifact, Package, PackageOwner, User, Version


def get_package(session: Session, ecosystem: str, normalized_name: str) -> Package | None:
    limits.check_text(normalized_name, "name")  # a lookup with text the database cannot hold is a 400 on every backend
    return session.exec(
        select(Package).where(Package.ecosystem == ecosystem, Package.normalized_name == normalized_name)
    ).first()


def get_version(session: Session, package: Package, version: str) -> Version | None:
    limits.check_text(version, "version")  # a lookup with text the database cannot hold is a 400 on every backend
    return session.exec(select(Version).where(Version.package_id == package.id, Version.version == version)).first()


def list_packages(
    session: Session,
    ecosystem: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[Package]:
    """`where`: an extra condition, e.g. `Registry.readable_packages(identity)`."""
    query = select(Package).order_by(Package.ecosystem, Package.normalized_name)
    if ecosystem is not None:
        query = query.where(Package.ecosystem == ecosystem)
    if where is not None:
        query = query.where(where)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def name_rows(session: Session, ecosystem: str, where: ColumnElement[bool]) -> list[tuple[str, str, int]]:
    """(name, normalized name, last serial) of the ecosystem's packages matching `where`, by
    normalized name: the columns of a listing, without loading whole rows."""
    query = (select(Package.name, Package.normalized_name, Package.last_serial)
             .where(Package.ecosystem == ecosystem, where).order_by(Package.normalized_name))
    return [tuple(row) for row in session.exec(query)]


def count_packages(session: Session, ecosystem: str | None = None, where: ColumnElement[bool] | None = None) -> int:
    query = select(func.count()).select_from(Package)
    if ecosystem is not None:
        query = query.where(Package.ecosystem == ecosystem)
    if where is not None:
        query = query.where(where)
    return int(session.exec(query).one())


def list_versions(session: Session, package: Package) -> list[Version]:
    """In creation order."""
    return list(session.exec(select(Version).where(Version.package_id == package.id).order_by(Version.id)))


def list_artifacts(session: Session, package: Package) -> list[Artifact]:
    """Every file of the package, in upload order."""
    return list(session.exec(select(Artifact).where(Artifact.package_id == package.id).order_by(Artifact.id)))


def version_artifacts(session: Session, version: Version) -> list[Artifact]:
    return list(session.exec(select(Artifact).where(Artifact.version_id == version.id).order_by(Artifact.id)))


def find_artifact(session: Session, ecosystem: str, filename: str) -> Artifact | None:
    limits.check_text(filename, "file name")  # a lookup with text the database cannot hold is a 400 on every backend
    return session.exec(select(Artifact).where(Artifact.ecosystem == ecosystem, Artifact.filename == filename)).first()


def owners(session: Session, package: Package) -> list[User]:
    return list(
        session.exec(
            select(User).join(PackageOwner, PackageOwner.user_id == User.id).where(PackageOwner.package_id == package.id).order_by(User.name)
        )
    )


def is_owner(session: Session, package: Package, user: User) -> bool:
    return session.get(PackageOwner, (package.id, user.id)) is not None


def public_names(session: Session, ecosystem: str) -> list[str]:
    """Display names of the public packages, sorted (anonymous listings of a public registry)."""
    return sorted(session.exec(select(Package.name).where(Package.ecosystem == ecosystem, Package.visibility == "public")))


def private_names(session: Session, ecosystem: str, readable: ColumnElement[bool] | None) -> list[str]:
    """Display names of the private packages a reader may read (`readable`: `Registry.readable_packages`)."""
    query = select(Package.name).where(Package.ecosystem == ecosystem, Package.visibility == "private")
    if readable is not None:
        query = query.where(readable)
    return sorted(session.exec(query))


def indexed_files(session: Session, ecosystem: str, private: list[str] | None = None) -> list[tuple[str, str, str | None]]:
    """(package name, version, platform) of every file not yanked, of the public packages plus the
    named private ones."""
    visible = Package.visibility == "public"
    if private:
        visible = visible | and_(Package.visibility == "private", Package.name.in_(sorted(private)))
    query = (
        select(Package.name, Version.version, Artifact.platform)
        .join(Artifact, Artifact.package_id == Package.id)
        .join(Version, Version.id == Artifact.version_id)
        .where(Package.ecosystem == ecosystem, Artifact.yanked == False, visible)  # noqa: E712
    )
    return list(session.exec(query))
