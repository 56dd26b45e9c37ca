"""Audit trail: who did what, when, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from packyard.auth import Identity
from packyard.models import AuditEvent, limits


def record(
    session: Session,
    at: datetime,
    action: str,
    identity: Identity | None,
    remote_addr: str | None,
    *,
    ecosystem: str | None = None,
    package: str | None = None,
    version: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=at,
        actor=identity.name if identity else None,
        token_id=identity.token.id if identity and identity.token else None,
        action=action,
        ecosystem=ecosystem,
        package=package,
        version=version,
        remote_addr=remote_addr,
        detail=detail or {},
    )
    session.add(event)
    return event


def list_events(
    session: Session,
    *,
    ecosystem: str | None = None,
    package: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[AuditEvent]:
    """Newest first; each filter given must match exactly."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    for column, value in ((AuditEvent.ecosystem, ecosystem), (AuditEvent.package, package), (AuditEvent.action, action), (AuditEvent.actor, actor)):
        if value:
            query = query.where(column == limits.check_text(value, "filter"))
    return list(session.exec(query.offset(offset).limit(limit)))
