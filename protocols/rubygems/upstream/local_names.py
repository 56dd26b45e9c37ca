"""Which gem names resolve locally, read inside a write transaction (the read paths ask the core's
`UpstreamGate`, which remembers its answers per serial).

A name resolves locally when a local gem has it, compared case-insensitively as rubygems.org
compares names (any visibility: a private gem's name is never sent upstream), or when it is
reserved (reserved names are stored lower-cased for RubyGems).
"""

from __future__ import annotations

from collections.abc import Callable

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
