"""Keep the served documents in step with every change, inside the change's write transaction.

For a push, yank or unyank of gem G (serialized per ecosystem by the core):
1. re-render `/info/G` from G's indexed files, in push order;
2. append `G [-]VER[-PLAT] MD5(/info/G)` to `/versions` (public gems only);
3. re-render the Marshal `specs` indexes the change can affect, and `/names` when G enters or
   leaves it (public gems only);
4. on push of an old gem whose gemspec spells its platform differently, remember that spelling.
Visibility changes add the gem's full line to `/versions` (private -> public) or compact
`/versions` without it (public -> private). When the `/versions` base is older than a month it is
compacted after the change, as rubygems.org does monthly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from packyard.models import ChangeAction
from packyard.plugins import Change
from packyard.services.journal import record_ecosystem_event
from packyard.services.packages import list_artifacts

from . import documents, legacy_specs, versions_index
from .compact_index_lines import info_body, number_and_platform
from .gem_version import GemVersion

if TYPE_CHECKING:
    from packyard.registry import Registry

ECOSYSTEM = documents.ECOSYSTEM
REBUILD_AFTER = timedelta(days=30)


# Changes that add or remove index lines for their artifacts.
_INDEXED = (ChangeAction.PUBLISH, ChangeAction.YANK, ChangeAction.UNYANK)


def apply_change(session: Session, change: Change) -> None:
    if change.action == ChangeAction.OWNERS:
        return  # owners are served from the database (gem owner, JSON API); no stored bytes show them
    now = change.journal.at
    package = change.package
    artifacts = list_artifacts(session, package)
    indexed = [a for a in artifacts if not a.yanked]
    body = info_body(indexed)
    documents.put(session, documents.info_key(package.name), body, now)
    if change.action == ChangeAction.PUBLISH:
        for artifact in change.artifacts:
            legacy_specs.store_quick_alias(session, artifact, now)

    rebuild = False
    if not package.is_private and change.action in _INDEXED and change.artifacts:
        prefix = "-" if change.action == ChangeAction.YANK else ""
        entries = [prefix + number_and_platform(a) for a in change.artifacts]
        versions_index.append(session, change.serial, versions_index.event_line(package.name, entries, body), now)
    elif change.action == ChangeAction.SETTINGS and "visibility" in change.detail:
        if package.is_private:
            rebuild = True  # its lines must leave the shared body
        else:
            line = versions_index.gem_line(package.name, body)
            if line:
                versions_index.append(session, change.serial, line, now)

    kinds, names_changed = _public_listings_touched(change, len(indexed))
    legacy_specs.store_public_indexes(session, now, kinds, names_changed)
    if rebuild or _base_is_stale(session, now):
        versions_index.rebuild(session, now)


def _public_listings_touched(change: Change, indexed_now: int) -> tuple[set[str], bool]:
    """Which specs files and whether `/names` can differ after `change` (each is O(gems) to render)."""
    if change.action == ChangeAction.SETTINGS:
        touched = "visibility" in change.detail
        return (set(documents.SPECS_KINDS), True) if touched else (set(), False)
    if change.package.is_private or change.action not in _INDEXED:
        return set(), False
    prerelease = {GemVersion((a.meta or {}).get("version", "0")).is_prerelease for a in change.artifacts}
    kinds = ({"prerelease_specs"} if True in prerelease else set()) | (
        {"specs", "latest_specs"} if False in prerelease else set())
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
        body = versions_index.rebuild(session, now)
        # The served body changed without a package change: move the serial on so caches notice.
        serial = record_ecosystem_event(registry, session, ECOSYSTEM, ChangeAction.REINDEX)
    registry.publish_serial(ECOSYSTEM, serial)
    return body

