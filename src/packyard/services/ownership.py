"""Package owners and package settings (visibility, project status); each change is journaled,
so the documents that show them (PyPI JSON `ownership`, simple-page status) move on in every worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from packyard.models import limits
from packyard.auth import Identity
from packyard.errors import BadRequest, Conflict, NotFound
from packyard.models import ChangeAction, Package, PackageOwner, User
from packyard.services import audit
from packyard.services.journal import record_change
from packyard.services.packages import get_package, owners
from packyard.services.permissions import require_owner, require_scope
from packyard.services.users import find_user

if TYPE_CHECKING:
    from packyard.registry import Registry

VISIBILITIES = ("public", "private")


def _load_for_change(registry: Registry, session: Session, ecosystem: str, name: str, identity: Identity) -> Package:
    """The package, once the caller is shown to hold its write scope and to own it."""
    adapter = registry.adapter(ecosystem)
    limits.check_text(name, f"{adapter.scope_noun} name")
    normalized = adapter.normalize_name(name)
    require_scope(identity, ecosystem, normalized, "write", adapter.scope_noun)
    package = get_package(session, ecosystem, normalized)
    if package is None:
        raise NotFound(f"No {adapter.scope_noun} named '{name}' in {ecosystem}.")
    require_owner(session, identity, package)
    return package


def add_owner(registry: Registry, ecosystem: str, name: str, user_name: str, identity: Identity, remote_addr: str | None = None) -> list[User]:
    with registry.db.write(lock=ecosystem) as session:
        package = _load_for_change(registry, session, ecosystem, name, identity)
        user = find_user(session, user_name)
        if user is None:
            raise NotFound(f"No user named '{user_name}': create it first ('packyard user create {user_name}').")
        if session.get(PackageOwner, (package.id, user.id)) is not None:
            raise Conflict(f"'{user_name}' already owns '{package.name}'.")
        session.add(PackageOwner(package_id=package.id, user_id=user.id))
        session.flush()
        change = record_change(registry, session, ChangeAction.OWNERS, package, detail={"added": user.name})
        audit.record(session, registry.clock.now(), "owner.add", identity, remote_addr, ecosystem=ecosystem, package=package.normalized_name, detail={"user": user_name})
        result = owners(session, package)
    registry.publish_serial(ecosystem, change.serial)
    return result


def remove_owner(registry: Registry, ecosystem: str, name: str, user_name: str, identity: Identity, remote_addr: str | None = None) -> list[User]:
    with registry.db.write(lock=ecosystem) as session:
        package = _load_for_change(registry, session, ecosystem, name, identity)
        user = find_user(session, user_name)
        link = session.get(PackageOwner, (package.id, user.id)) if user else None
        if link is None:
            raise NotFound(f"'{user_name}' is not an owner of '{package.name}'.")
        if len(owners(session, package)) == 1:
            raise BadRequest(f"'{user_name}' is the last owner of '{package.name}': add another owner first.")
        session.delete(link)
        session.flush()
        change = record_change(registry, session, ChangeAction.OWNERS, package, detail={"removed": user.name})
        audit.record(session, registry.clock.now(), "owner.remove", identity, remote_addr, ecosystem=ecosystem, package=package.normalized_name, detail={"user": user_name})
        result = owners(session, package)
    registry.publish_serial(ecosystem, change.serial)
    return result


def update_settings(
    registry: Registry,
    ecosystem: str,
    name: str,
    identity: Identity,
    *,
    visibility: str | None = None,
    status: str | None = None,
    status_reason: str | None = None,
    remote_addr: str | None = None,
) -> Package:
    adapter = registry.adapter(ecosystem)
    if status_reason is not None:
        limits.check_text(status_reason, "status reason", limits.REASON_LENGTH)
    if visibility is not None and visibility not in VISIBILITIES:
        raise BadRequest(f"visibility must be one of {', '.join(VISIBILITIES)}.")
    if status is not None and status not in adapter.project_statuses:
        allowed = ", ".join(adapter.project_statuses) or "none"
        raise BadRequest(f"status '{status}' is not supported for {ecosystem} (supported: {allowed}).")
    with registry.db.write(lock=ecosystem) as session:
        package = _load_for_change(registry, session, ecosystem, name, identity)
        detail = {}
        if visibility is not None:
            package.visibility = visibility
            detail["visibility"] = visibility
        if status is not None:
            package.status = status
            package.status_reason = status_reason or None
            detail["status"] = status
        session.add(package)
        change = record_change(registry, session, ChangeAction.SETTINGS, package, detail=detail)
        audit.record(session, registry.clock.now(), "package.settings", identity, remote_addr, ecosystem=ecosystem, package=package.normalized_name, detail=detail)
    registry.publish_serial(ecosystem, change.serial)
    return package
