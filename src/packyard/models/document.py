from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Column, Field, SQLModel

from packyard.models.types import UTCDateTime


class Document(SQLModel, table=True):
    """Precomputed bytes an adapter serves as a file (e.g. RubyGems `/info/<gem>`).

    Kept in the database so every worker sees the same bytes the moment the write commits; the same
    rows can be written out as files for a static front server.
    """

    ecosystem: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=300)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
