"""Reserved names: names that never resolve upstream, even before their first local upload.

Reserving or releasing a name takes a serial (`ChangeAction.RESERVE`), so every process's cached
"may this name resolve upstream" answers (`upstream.gate`) move on at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import select

from packyard.errors import BadRequest, Conflict, NotFound
from packyard.models import ChangeAction, ReservedName
from packyard.models import limits
from packyard.services import audit
from packyard.services.journal import record_ecosystem_event

if TYPE_CHECKING:
    from packyard.auth import Identity
    from packyard.plugins import ProtocolAdapter
    from packyard.registry import Registry


def name_key(adapter: ProtocolAdapter, name: str) -> str:
    """A name's identity for the proxy rules: the adapter's normalization, lower-cased where names
    differing only in case collide (RubyGems), so `Rails` and `rails` are one name."""
    normalized = adapter.normalize_name(name)
    return normalized.lower() if adapter.names_differing_in_case_collide else normalized


def _checked(registry: Registry, ecosystem: str, name: str) -> tuple[ProtocolAdapter, str]:
    adapter = registry.adapter(ecosystem)
    name = limits.check_text(name.strip(), "name", adapter.max_name_length)
    if not name:
        raise BadRequest("Give the name to reserve, e.g. 'packyard pypi reserve acme-internal'.")
    return adapter, name


def reserve(registry: Registry, ecosystem: str, name: str, identity: Identity | None = None,
            remote_addr: str | None = None) -> ReservedName:
    adapter, name = _checked(registry, ecosystem, name)
    key = name_key(adapter, name)
    with registry.db.write(lock=ecosystem) as session:
        existing = session.get(ReservedName, (ecosystem, key))
        if existing is not None:
            raise Conflict(f"'{existing.name}' is reserved already (since {existing.reserved_at.isoformat()}).")
        row = ReservedName(ecosystem=ecosystem, normalized_name=key, name=name, reserved_at=registry.clock.now(),
                           reserved_by=identity.name if identity else None)
        session.add(row)
        serial = record_ecosystem_event(registry, session, ecosystem, ChangeAction.RESERVE)
        audit.record(session, row.reserved_at, "reserve", identity, remote_addr, ecosystem=ecosystem, package=key)
    registry.publish_serial(ecosystem, serial)
    return row


def unreserve(registry: Registry, ecosystem: str, name: str, identity: Identity | None = None,
              remote_addr: str | None = None) -> None:
    adapter, name = _checked(registry, ecosystem, name)
    key = name_key(adapter, name)
    with registry.db.write(lock=ecosystem) as session:
        row = session.get(ReservedName, (ecosystem, key))
        if row is None:
            raise NotFound(f"'{name}' is not reserved in {ecosystem}.")
        session.delete(row)
        serial = record_ecosystem_event(registry, session, ecosystem, ChangeAction.RESERVE)
        audit.record(session, registry.clock.now(), "unreserve", identity, remote_addr, ecosystem=ecosystem, package=key)
    registry.publish_serial(ecosystem, serial)


def list_reserved(registry: Registry, ecosystem: str) -> list[ReservedName]:
    registry.adapter(ecosystem)
    with registry.db.read() as session:
        return list(session.exec(select(ReservedName).where(ReservedName.ecosystem == ecosystem).order_by(ReservedName.normalized_name)))
