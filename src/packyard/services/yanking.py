"""Yank and unyank: the files stay stored and downloadable by exact pin; indexes mark or hide them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packyard.models import limits
from packyard.auth import Identity
from packyard.errors import NotFound
from packyard.models import Artifact, ChangeAction, Package, Version
from packyard.services import audit
from packyard.services.journal import record_change
from packyard.services.packages import get_package, get_version, version_artifacts
from packyard.services.permissions import require_owner, require_scope

if TYPE_CHECKING:
    from packyard.registry import Registry


@dataclass
class YankResult:
    package: Package
    version: Version
    changed: list[Artifact]  # empty: everything asked for was already in that state
    serial: int | None


def set_yanked(
    registry: Registry,
    ecosystem: str,
    name: str,
    version: str,
    yanked: bool,
    identity: Identity,
    *,
    reason: str | None = None,
    remote_addr: str | None = None,
    platform: str | None = None,
) -> YankResult:
    """Yank (or unyank) a version's files: all of them, or only those of one `platform` (RubyGems)."""
    adapter = registry.adapter(ecosystem)
    limits.check_text(name, f"{adapter.scope_noun} name")
    limits.check_text(version, "version")
    if platform is not None:
        limits.check_text(platform, "platform")
    if reason is not None:
        limits.check_text(reason, "reason", limits.REASON_LENGTH)
    normalized = adapter.normalize_name(name)
    require_scope(identity, ecosystem, normalized, "yank", adapter.scope_noun)
    with registry.db.write(lock=ecosystem) as session:
        package = get_package(session, ecosystem, normalized)
        if package is None:
            raise NotFound(f"No {adapter.scope_noun} named '{name}' in {ecosystem}.")
        require_owner(session, identity, package)
        found = get_version(session, package, version)
        if found is None:
            raise NotFound(f"'{package.name}' has no version '{version}'.")
        artifacts = version_artifacts(session, found)
        if platform is not None:
            artifacts = [a for a in artifacts if (a.platform or "") == platform]
            if not artifacts:
                raise NotFound(f"'{package.name}' {version} has no file for platform '{platform}'.")
        now = registry.clock.now()
        changed = [a for a in artifacts if a.yanked != yanked]
        for artifact in changed:
            artifact.yanked = yanked
            artifact.yank_reason = (reason or None) if yanked else None
            artifact.yanked_at = now if yanked else None
            session.add(artifact)
        if not changed:
            return YankResult(package, found, [], None)
        action = ChangeAction.YANK if yanked else ChangeAction.UNYANK
        change = record_change(
            registry, session, action, package, found, changed,
            {"filenames": [a.filename for a in changed], "reason": reason, "platform": platform},
        )
        audit.record(
            session, now, f"version.{action}", identity, remote_addr,
            ecosystem=ecosystem, package=normalized, version=version,
            detail={"filenames": [a.filename for a in changed], "reason": reason},
        )
    registry.publish_serial(ecosystem, change.serial)
    return YankResult(package, found, changed, change.serial)
