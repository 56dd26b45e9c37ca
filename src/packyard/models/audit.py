from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from packyard.models.types import UTCDateTime


class AuditEvent(SQLModel, table=True):
    """Who did what to which package or token, when, and from where."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor: str | None = Field(default=None, max_length=100)
    token_id: int | None = None
    action: str = Field(max_length=64)
    ecosystem: str | None = Field(default=None, max_length=32)
    package: str | None = Field(default=None, max_length=255)
    version: str | None = Field(default=None, max_length=255)
    remote_addr: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
