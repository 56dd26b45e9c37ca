from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from packyard.models.types import UTCDateTime


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie carries a secret, this row only its SHA-256. Signing out
    deletes the row, so the session ends for every worker and replica at once."""

    __tablename__ = "web_session"

    secret_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(max_length=64, description="Sent back in a hidden field of every form")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
