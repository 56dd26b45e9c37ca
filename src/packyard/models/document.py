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


class DocumentSegment(SQLModel, table=True):
    """A piece appended to an append-only document (RubyGems' `/versions`) since its base (the
    `document` row) was last rewritten. The served body is the base followed by its segments in
    serial order, so an append writes one small row instead of rewriting the whole body.

    `etag` is the quoted MD5 of the whole body through this segment; `md5_state` the MD5 state
    after it (`packyard.documents.resumable_md5`), so the next append costs O(its own bytes).
    A segment with an empty body marks the base itself (its serial and MD5 state)."""

    __tablename__ = "document_segment"

    ecosystem: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=1000)
    serial: int = Field(primary_key=True, sa_type=BigInteger)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    etag: str = Field(default="", max_length=200)
    md5_state: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
