from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from packyard.models import limits
from packyard.models.types import UTCDateTime


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=limits.USER_NAME_LENGTH, unique=True, index=True)
    password_hash: str | None = Field(default=None, max_length=255)
    is_admin: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
