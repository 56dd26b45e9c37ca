from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, Integer
from sqlmodel import JSON, Column, Field, SQLModel

from packyard.models.types import UTCDateTime


class ChangeAction(StrEnum):
    """Every kind of journaled change; nothing else is ever written to `journal.action`."""

    PUBLISH = "publish"  # a file was added (the first one creates the package and its owner)
    YANK = "yank"
    UNYANK = "unyank"
    SETTINGS = "settings"  # visibility or project status; `data` names which
    OWNERS = "owners"  # an owner was added or removed; `data` has {"added"|"removed": user}
    REINDEX = "reindex"  # served bytes changed without a package change (RubyGems /versions compaction, upstream sync)
    RESERVE = "reserve"  # a name was reserved or released (what resolves upstream changed); `data` says which


class JournalEntry(SQLModel, table=True):
    """One registry change. `id` is the serial: it only grows, so adapters key caches and ETags on it."""

    __tablename__ = "journal"
    # The latest serial of an ecosystem is one probe of this index (max(id) where ecosystem = ?).
    __table_args__ = (Index("ix_journal_ecosystem_id", "ecosystem", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    ecosystem: str = Field(max_length=32)
    package: str = Field(max_length=255, description="normalized name")
    version: str | None = Field(default=None, max_length=255)
    action: str = Field(max_length=32)  # a ChangeAction
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
