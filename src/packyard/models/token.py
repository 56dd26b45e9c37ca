from __future__ import annotations

from datetime import datetime

from sqlmodel import JSON, Column, Field, SQLModel

from packyard.models import limits
from packyard.models.types import UTCDateTime


class Token(SQLModel, table=True):
    """An API token. Only the SHA-256 of the secret is stored; the secret is shown once."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=limits.TOKEN_NAME_LENGTH)
    secret_hash: str = Field(max_length=64, unique=True, index=True)
    display_prefix: str = Field(max_length=16, description="First characters of the secret, to recognise it in lists")
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_by_id: int | None = Field(
        default=None, foreign_key="token.id", index=True,
        description="The token that minted this one (None: minted by the CLI or a password sign-in)",
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
