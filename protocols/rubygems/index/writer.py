"""Keep the served documents in step with every change, inside the change's write transaction.

For a push, yank or unyank of gem G (serialized per ecosystem by the core):
1. re-render `/info/G` from G's indexed files, in push order;
2. put (push, unyank) or remove (yank) the changed files' `.gem` and quick gemspec documents;
3. append `G [-]VER[-PLAT] MD5(/info/G)` to `/versions` (public gems only);
4. mark stale the Marshal `specs` indexes the change can affect, and `/names` when G enters or
   leaves it (public gems only): each costs O(gems) to render, so a background thread renders it
   after the commit and the push does not wait (readers render a stale one first, see `legacy_specs`).
Steps 1-3 cost O(G's files), whatever the number of gems (`/versions` grows by one segment row).
Visibility changes re-store G's documents with the new visibility and add the gem's full line to
`/versions` (private -> public) or compact `/versions` without it (public -> private). When the
`/versions` base is older than a month it is compacted after the change, as rubygems.org does
monthly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from packyard.documents.store import DocumentStore
from packyard.models import Artifact, ChangeAction, Package
from packyard.plugins import Change
from packyard.services.journal import record_ecosystem_event
from packyard.services.packages import list_artifacts, list_packages

from packyard_rubygems.index import documents, legacy_specs, versions_index
from packyard_rubygems.upstream import local_names
from packyard_rubygems.upstream.fetched import fetched_files, store_fetched_gems
from packyard_rubygems.index.compact_index_lines import info_body, number_and_platform

if TYPE_CHECKING:
    from packyard.registry import Registry

ECOSYSTEM = documents.ECOSYSTEM
REBUILD_AFTER = timedelta(days=30)


# Changes that add or remove index lines for their artifacts.
_INDEXED = (ChangeAction.PUBLISH, ChangeAction.YANK, ChangeAction.UNYANK)


def apply_change(session: Session, change: Change) -> None:
    if change.action == ChangeAction.OWNERS:
        return  # owners are served from the database (gem owner, JSON API); no stored bytes show them
    assert change.registry is not None
    store = change.registry.documents
    now, serial = change.journal.at, change.serial
    package = change.package
    artifacts = list_artifacts(session, package)
    indexed = [a for a in artifacts if not a.yanked]
    body = store_gem(store, session, package, artifacts, artifacts if change.action == ChangeAction.SETTINGS else change.artifacts, serial, now)

    rebuild = False
    if not package.is_private and change.action in _INDEXED and change.artifacts:
        prefix = "-" if change.action == ChangeAction.YANK else ""
        entries = [prefix + number_and_platform(a) for a in change.artifacts]
        versions_index.append(store, session, serial, versions_index.event_line(package.name, entries, body), now)
    elif change.action == ChangeAction.SETTINGS and "visibility" in change.detail:
        if package.is_private:
            rebuild = True  # its lines must leave the shared body
        else:
            line = versions_index.gem_line(package.name, body)
            if line:
                versions_index.append(store, session, serial, line, now)

    kinds, names_changed = _public_listings_touched(change, len(indexed))
    if change.action == ChangeAction.PUBLISH and len(change.artifacts) == len(artifacts):
        dropped_files, dropped_lines = _first_local_push(change.registry, store, session, package.name, serial)
        if dropped_files:
            kinds = set(documents.SPECS_FILES)  # they listed the upstream files
        rebuild = rebuild or dropped_lines
    legacy_specs.refresh_public_indexes(store, session, kinds, names_changed, serial=serial, now=now)
    if rebuild or _base_is_stale(session, now):
        versions_index.rebuild(store, session, serial, now, local=upstream_local(change.registry, session))


def store_gem(store: DocumentStore, session: Session, package: Package, artifacts: list[Artifact], changed: list[Artifact],
              serial: int, now: datetime) -> bytes:
    """`/info/<gem>`, and the `.gem` and quick gemspec documents of the `changed` files (removed
    when yanked); returns the `/info` body."""
    public = not package.is_private
    body = info_body([a for a in artifacts if not a.yanked])
    documents.put_compact_index(store, session, documents.info_key(package.name), body, serial=serial, now=now, public=public)
    for artifact in changed:
        own = artifact.filename[: -len(".gem")]
        quick = legacy_specs.quick_spec_bytes(artifact)
        keys = [documents.quick_key(name) for name in legacy_specs.quick_names(artifact)]
        if artifact.yanked:
            for key in [documents.gem_key(own), *keys]:
                store.remove(session, ECOSYSTEM, key, serial=serial)
            continue
        store.put_blob(session, ECOSYSTEM, documents.gem_key(own), artifact.blob_sha256, artifact.size, serial=serial, now=now,
                       etag=f'"{artifact.md5}"', media_type=documents.OCTET_STREAM, public=public)
        if quick is not None:
            for key in keys:
                documents.put_binary(store, session, key, quick, serial=serial, now=now, public=public)
    return body


def upstream_local(registry: Registry, session: Session) -> Callable[[str], bool] | None:
    """With an upstream configured: which names resolve locally (a compaction keeps the others'
    upstream lines); None without one (a compaction then drops every upstream line)."""
    return local_names.matcher(session) if registry.upstream(ECOSYSTEM) is not None else None


def _first_local_push(registry: Registry, store: DocumentStore, session: Session, name: str, serial: int) -> tuple[bool, bool]:
    """A name just became local: upstream's `.gem` documents for it go (local wins, whatever the
    case). Says whether there were any, and whether `/versions` holds upstream lines for the name
    (a compaction must drop them)."""
    if registry.upstream(ECOSYSTEM) is None:
        return False, False
    fetched = fetched_files(session, name)
    for filename in fetched:
        store.remove(session, ECOSYSTEM, documents.gem_key(filename[: -len(".gem")]), serial=serial)
    return bool(fetched), versions_index.mentions(versions_index.current(store, session) or b"", name)


def _public_listings_touched(change: Change, indexed_now: int) -> tuple[set[str], bool]:
    """Which specs files and whether `/names` can differ after `change` (each is O(gems) to render)."""
    if change.action == ChangeAction.SETTINGS:
        touched = "visibility" in change.detail
        return (set(documents.SPECS_FILES), True) if touched else (set(), False)
    if change.package.is_private or change.action not in _INDEXED:
        return set(), False
    kinds = legacy_specs.kinds_for([(a.meta or {}).get("version", "0") for a in change.artifacts])
    delta = -len(change.artifacts) if change.action == ChangeAction.YANK else len(change.artifacts)
    listed_before, listed_now = indexed_now - delta > 0, indexed_now > 0
    return kinds, listed_before != listed_now


def _base_is_stale(session: Session, now: datetime) -> bool:
    created = versions_index.base_created_at(session)
    return created is not None and now - created > REBUILD_AFTER


def rebuild_versions(registry: Registry) -> bytes:
    """Compact `/versions` now (CLI `packyard rubygems rebuild-index`, test hook); returns the new base."""
    with registry.db.write(lock=ECOSYSTEM) as session:
        now = registry.clock.now()
        # The served body changed without a package change: it takes a serial, so caches notice.
        serial = record_ecosystem_event(registry, session, ECOSYSTEM, ChangeAction.REINDEX)
        body = versions_index.rebuild(registry.documents, session, serial, now)
    registry.publish_serial(ECOSYSTEM, serial)
    return body


def render_all(registry: Registry) -> None:
    """Every document from the rows (an upgrade to a new document format): gem by gem, then the
    listings and a compacted `/versions`; documents no longer written (old formats) go."""
    store = registry.documents
    with registry.db.write(lock=ECOSYSTEM) as session:
        now = registry.clock.now()
        serial = record_ecosystem_event(registry, session, ECOSYSTEM, ChangeAction.REINDEX)
        keep = set()
        for package in list_packages(session, ECOSYSTEM):
            artifacts = list_artifacts(session, package)
            store_gem(store, session, package, artifacts, artifacts, serial, now)
            keep.add(documents.info_key(package.name))
            for artifact in artifacts:
                if not artifact.yanked:
                    own = artifact.filename[: -len(".gem")]
                    keep.add(documents.gem_key(own))
                    keep.update(documents.quick_key(n) for n in legacy_specs.quick_names(artifact))
        keep.update(store_fetched_gems(store, session, serial, now))
        legacy_specs.store_public_indexes(store, session, serial, now)
        keep.update([documents.NAMES, documents.VERSIONS, *documents.SPECS_FILES.values(), documents.UPSTREAM_VERSIONS_POSITION])
        versions_index.rebuild(store, session, serial, now, local=upstream_local(registry, session))
        for key in store.keys_in(session, ECOSYSTEM):
            if key not in keep:
                store.remove(session, ECOSYSTEM, key, serial=serial)
    registry.publish_serial(ECOSYSTEM, serial)
