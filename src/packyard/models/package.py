from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import JSON, Column, Field, SQLModel

from packyard.models import limits
from packyard.models.types import UTCDateTime


class Package(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("ecosystem", "normalized_name"),)

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=32, index=True)
    name: str = Field(max_length=limits.NAME_COLUMN_LENGTH, description="Display name, as first published")
    normalized_name: str = Field(max_length=limits.NAME_COLUMN_LENGTH)
    visibility: str = Field(default="public", max_length=16)  # public | private
    status: str = Field(default="active", max_length=16)  # active | archived | quarantined | deprecated
    status_reason: str | None = Field(default=None, max_length=limits.REASON_LENGTH)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_serial: int = 0

    @property
    def is_private(self) -> bool:
        return self.visibility == "private"


class PackageOwner(SQLModel, table=True):
    package_id: int = Field(foreign_key="package.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)


class Version(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("package_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="package.id", index=True)
    version: str = Field(max_length=limits.VERSION_COLUMN_LENGTH)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Artifact(SQLModel, table=True):
    """A file of a version. Yank state lives here: RubyGems yanks one platform's file at a time."""

    __table_args__ = (UniqueConstraint("ecosystem", "filename"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="version.id", index=True)
    package_id: int = Field(foreign_key="package.id", index=True)
    ecosystem: str = Field(max_length=32)
    filename: str = Field(max_length=limits.FILENAME_LENGTH)
    platform: str | None = Field(default=None, max_length=limits.PLATFORM_LENGTH)
    size: int
    sha256: str = Field(max_length=64)
    md5: str = Field(max_length=32)
    blake2b_256: str = Field(max_length=64)
    blob_sha256: str = Field(foreign_key="blob.sha256", max_length=64, index=True)
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    uploader_id: int | None = Field(default=None, foreign_key="user.id")
    uploaded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    yanked: bool = False
    yank_reason: str | None = Field(default=None, max_length=limits.REASON_LENGTH)
    yanked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
