from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary
from sqlmodel import Column, Field, SQLModel

from packyard.models.types import UTCDateTime


class Document(SQLModel, table=True):
    """A document an adapter serves (or keeps for its own bookkeeping), rendered when a change
    alters it, never on a read. This row is the authoritative copy; `packyard.documents` writes it
    through to files or Redis after the commit (see docs/architecture.md, "Reads").

    `kind`: `document` (bytes served as they are), `template` (carries the base-URL placeholder,
    filled per request), `blob` (a file download: the body is `<sha256> <size>` of a stored blob)
    or `internal` (the adapter's bookkeeping, never served as is). `public`: readable without
    credentials (the package is public; a private registry restricts every read on top).
    """

    ecosystem: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=1000)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    etag: str = Field(default="", max_length=200)
    media_type: str = Field(default="", max_length=200)
    kind: str = Field(default="document", max_length=16)
    public: bool = Field(default=False)
    serial: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
