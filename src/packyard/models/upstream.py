"""Tables of the upstream proxy: reserved names, proxied fetches, cached upstream pages, fetch claims."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from packyard.models.types import UTCDateTime


class ReservedName(SQLModel, table=True):
    """A name that never resolves upstream, even before its first local upload (dependency confusion)."""

    __tablename__ = "reserved_name"

    ecosystem: str = Field(primary_key=True, max_length=32)
    normalized_name: str = Field(primary_key=True, max_length=255)  # the adapter's normalize (lower-cased where case collides)
    name: str = Field(max_length=255)  # as the admin wrote it
    reserved_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reserved_by: str | None = Field(default=None, max_length=100)


class UpstreamFetch(SQLModel, table=True):
    """One file fetched from an upstream, verified and kept: "which public packages did we pull, when"."""

    __tablename__ = "upstream_fetch"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    ecosystem: str = Field(max_length=32, index=True)
    package: str = Field(max_length=255, index=True)  # normalized
    version: str | None = Field(default=None, max_length=255)
    filename: str = Field(max_length=255)
    sha256: str = Field(max_length=64, index=True)
    size: int = Field(sa_column=Column(BigInteger(), nullable=False))
    upstream_url: str = Field(max_length=2000)  # without credentials
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class UpstreamPage(SQLModel, table=True):
    """The last copy of an upstream document (served stale while the upstream is away)."""

    __tablename__ = "upstream_page"
    __table_args__ = (UniqueConstraint("ecosystem", "key", name="uq_upstream_page_ecosystem_key"),)

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=32)
    key: str = Field(max_length=1000)
    url: str = Field(max_length=2000)  # without credentials
    body: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    etag: str | None = Field(default=None, max_length=500)
    media_type: str = Field(default="", max_length=200)
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # when these bytes arrived
    checked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # last 200 or 304 from upstream


class UpstreamClaim(SQLModel, table=True):
    """A file fetch in progress: the process holding the row fetches, the others wait for its blob."""

    __tablename__ = "upstream_claim"

    sha256: str = Field(primary_key=True, max_length=64)
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
