"""Reading the record of proxied file fetches ("which public packages did we pull, when")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import select

from packyard.models import UpstreamFetch

if TYPE_CHECKING:
    from packyard.registry import Registry


def list_fetches(registry: Registry, *, ecosystem: str | None = None, package: str | None = None,
                 offset: int = 0, limit: int = 100) -> list[UpstreamFetch]:
    """Newest first; `package` is compared after the ecosystem's normalization when `ecosystem` is given."""
    query = select(UpstreamFetch).order_by(UpstreamFetch.id.desc())
    if ecosystem:
        query = query.where(UpstreamFetch.ecosystem == ecosystem)
        if package:
            package = registry.adapter(ecosystem).normalize_name(package)
    if package:
        query = query.where(UpstreamFetch.package == package)
    with registry.db.read() as session:
        return list(session.exec(query.offset(offset).limit(limit)))
