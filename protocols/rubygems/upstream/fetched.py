"""The `.gem` files fetched from upstream so far (the core's fetch records), as the index sees them:
served as blob documents like pushed gems and listed in the specs files, unless their name has
resolved locally since (local wins)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlmodel import Session, func, select

from packyard.documents.store import DocumentStore
from packyard.models import UpstreamFetch

from packyard_rubygems.index import documents
from packyard_rubygems.index.legacy_index import SpecsEntry
from packyard_rubygems.upstream.local_names import local_set

ECOSYSTEM = documents.ECOSYSTEM


def upstream_etag(sha256: str) -> str:
    """The ETag of a proxied `.gem`: its sha256, as upstream announced it (pushed gems use their MD5)."""
    return f'"{sha256}"'


def _fetched(session: Session) -> Iterator[tuple[str, str, str, int]]:
    """(gem, filename, sha256, size) of every fetched file whose name does not resolve locally."""
    rows = set(session.exec(select(UpstreamFetch.package, UpstreamFetch.filename, UpstreamFetch.sha256, UpstreamFetch.size)
                            .where(UpstreamFetch.ecosystem == ECOSYSTEM)))
    if not rows:
        return
    local = local_set(session)
    for name, filename, sha256, size in sorted(rows):
        if name.lower() not in local and filename.startswith(f"{name}-") and filename.endswith(".gem"):
            yield name, filename, sha256, size


def fetched_upstream_entries(session: Session) -> list[SpecsEntry]:
    entries = set()
    for name, filename, _, _ in _fetched(session):
        number, _, platform = filename[len(name) + 1: -len(".gem")].partition("-")
        entries.add(SpecsEntry(name, number, platform or "ruby"))
    return sorted(entries, key=lambda e: (e.name, e.version, e.platform))


def fetched_files(session: Session, name: str) -> list[str]:
    """File names fetched for `name`, compared case-insensitively."""
    query = select(UpstreamFetch.filename).where(UpstreamFetch.ecosystem == ECOSYSTEM, func.lower(UpstreamFetch.package) == name.lower())
    return sorted(set(session.exec(query)))


def store_fetched_gems(store: DocumentStore, session: Session, serial: int, now: datetime) -> set[str]:
    """Every fetched file's blob document again (a full re-render); returns their keys."""
    keys = set()
    for _, filename, sha256, size in _fetched(session):
        key = documents.gem_key(filename[: -len(".gem")])
        store.put_blob(session, ECOSYSTEM, key, sha256, size, serial=serial, now=now, etag=upstream_etag(sha256),
                       media_type=documents.OCTET_STREAM, public=True)
        keys.add(key)
    return keys
