"""The change journal: every change gets the next serial, and the adapter hears of it in the same transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from packyard.models import Artifact, ChangeAction, JournalEntry, Package, Version
from packyard.plugins import Change

if TYPE_CHECKING:
    from packyard.registry import Registry


def record_change(
    registry: Registry,
    session: Session,
    action: ChangeAction,
    package: Package,
    version: Version | None = None,
    artifacts: list[Artifact] | None = None,
    detail: dict[str, Any] | None = None,
) -> Change:
    """Append a journal entry, stamp the package's last serial and let the adapter update derived data."""
    entry = JournalEntry(
        ecosystem=package.ecosystem,
        package=package.normalized_name,
        version=version.version if version else None,
        action=action,
        at=registry.clock.now(),
        data=dict(detail or {}),
    )
    session.add(entry)
    session.flush()
    package.last_serial = entry.id
    session.add(package)
    change = Change(
        ecosystem=package.ecosystem,
        action=action,
        package=package,
        version=version,
        artifacts=list(artifacts or []),
        journal=entry,
        detail=dict(detail or {}),
        registry=registry,
    )
    registry.adapter(package.ecosystem).on_change(session, change)
    session.flush()
    return change


def record_ecosystem_event(registry: Registry, session: Session, ecosystem: str, action: ChangeAction) -> int:
    """A change to an ecosystem's served bytes that touches no package (e.g. an index compaction):
    it takes a serial like any change, so every process's caches move on. Returns the serial;
    publish it with `registry.publish_serial` after the commit. Its journal row has `package=""`."""
    entry = JournalEntry(ecosystem=ecosystem, package="", action=action, at=registry.clock.now(), data={})
    session.add(entry)
    session.flush()
    return entry.id
