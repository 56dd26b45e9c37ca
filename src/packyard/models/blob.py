from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from packyard.models.types import UTCDateTime


class Blob(SQLModel, table=True):
    """Stored bytes, addressed by their SHA-256; shared by artifacts with identical content."""

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
