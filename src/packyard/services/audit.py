"""Audit trail: who did what, when, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from packyard.auth import Identity
from packyard.models import AuditEvent


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
