"""What the registry holds, across ecosystems: search by name, recent versions, counts, storage used.

`where` is always `Registry.readable_packages(identity)`, so a private package is found, counted
or listed only for a reader who may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from packyard.models import Artifact, Package, Version, limits

MAX_QUERY_LENGTH = 100  # no package name is longer (limits.DEFAULT_MAX_NAME_LENGTH)


def _restrict(query, where: ColumnElement[bool] | None):
    return query if where is None else query.where(where)


def search(session: Session, text: str, where: ColumnElement[bool] | None, limit: int = 50) -> list[Package]:
    """Packages whose name contains `text` (case-insensitive), names that start with it first."""
    text = limits.check_text(text.strip(), "search text", MAX_QUERY_LENGTH).lower()
    if not text:
        return []
    name = func.lower(Package.name)
    query = (
        select(Package)
        .where(name.contains(text, autoescape=True))
        .order_by(case((name.startswith(text, autoescape=True), 0), else_=1), name, Package.ecosystem)
        .limit(limit)
    )
    return list(session.exec(_restrict(query, where)))


@dataclass
class RecentVersion:
    ecosystem: str
    name: str
    version: str
    created_at: datetime


def recent_versions(session: Session, where: ColumnElement[bool] | None, limit: int = 10) -> list[RecentVersion]:
    query = (
        select(Package.ecosystem, Package.name, Version.version, Version.created_at)
        .join(Version, Version.package_id == Package.id)
        .order_by(Version.created_at.desc(), Version.id.desc())
        .limit(limit)
    )
    return [RecentVersion(*row) for row in session.exec(_restrict(query, where))]


@dataclass
class EcosystemCounts:
    packages: int = 0
    versions: int = 0
    files: int = 0
    bytes: int = 0  # the files' sizes added up (identical files share one blob; see `stored_bytes`)


def counts(session: Session, where: ColumnElement[bool] | None) -> dict[str, EcosystemCounts]:
    """Per ecosystem, in three grouped queries."""
    result: dict[str, EcosystemCounts] = {}
    for ecosystem, n in session.exec(_restrict(select(Package.ecosystem, func.count()).group_by(Package.ecosystem), where)):
        result.setdefault(ecosystem, EcosystemCounts()).packages = n
    versions = select(Package.ecosystem, func.count()).join(Version, Version.package_id == Package.id).group_by(Package.ecosystem)
    for ecosystem, n in session.exec(_restrict(versions, where)):
        result.setdefault(ecosystem, EcosystemCounts()).versions = n
    files = (
        select(Package.ecosystem, func.count(), func.coalesce(func.sum(Artifact.size), 0))
        .join(Artifact, Artifact.package_id == Package.id)
        .group_by(Package.ecosystem)
    )
    for ecosystem, n, size in session.exec(_restrict(files, where)):
        entry = result.setdefault(ecosystem, EcosystemCounts())
        entry.files, entry.bytes = n, int(size)
    return result


def stored_bytes(session: Session) -> dict[str, int]:
    """Bytes in blob storage per ecosystem: each distinct blob counted once per ecosystem using it."""
    distinct = select(Artifact.ecosystem, Artifact.blob_sha256, func.max(Artifact.size).label("size")).group_by(
        Artifact.ecosystem, Artifact.blob_sha256
    ).subquery()
    query = select(distinct.c.ecosystem, func.coalesce(func.sum(distinct.c.size), 0)).group_by(distinct.c.ecosystem)
    return {ecosystem: int(size) for ecosystem, size in session.exec(query)}
