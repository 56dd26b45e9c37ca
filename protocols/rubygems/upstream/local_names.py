"""Which gem names resolve locally, read inside a write transaction (the read paths ask the core's
`UpstreamGate`, which remembers its answers per serial).

A name resolves locally when a local gem has it, compared case-insensitively as rubygems.org
compares names (any visibility: a private gem's name is never sent upstream), or when it is
reserved (reserved names are stored lower-cased for RubyGems).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, func, select

from packyard.models import Package, ReservedName

from packyard_rubygems.index import documents

ECOSYSTEM = documents.ECOSYSTEM


def local_set(session: Session) -> set[str]:
    """Every local and reserved name, lower-cased."""
    names = session.exec(select(func.lower(Package.name)).where(Package.ecosystem == ECOSYSTEM))
    reserved = session.exec(select(ReservedName.normalized_name).where(ReservedName.ecosystem == ECOSYSTEM))
    return set(names) | {name.lower() for name in reserved}


def matcher(session: Session) -> Callable[[str], bool]:
    """`local(name)`: whether `name` resolves locally (one query for all names)."""
    names = local_set(session)
    return lambda name: name.lower() in names


def is_local(session: Session, name: str) -> bool:
    lowered = name.lower()
    if session.get(ReservedName, (ECOSYSTEM, lowered)) is not None:
        return True
    query = select(Package.id).where(Package.ecosystem == ECOSYSTEM, func.lower(Package.name) == lowered).limit(1)
    return session.exec(query).first() is not None


def newest_reservation(session: Session) -> datetime | None:
    return session.exec(select(func.max(ReservedName.reserved_at)).where(ReservedName.ecosystem == ECOSYSTEM)).one()


def reserved_since(session: Session, since: datetime | None) -> list[str]:
    """Reserved names (lower-cased), those reserved after `since` when given."""
    query = select(ReservedName.normalized_name).where(ReservedName.ecosystem == ECOSYSTEM)
    if since is not None:
        query = query.where(ReservedName.reserved_at > since)
    return list(session.exec(query))
