"""Settings, read from flags and `PACKYARD_*` environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PACKYARD_", extra="ignore")

    data_dir: Path = Field(default=Path("./packyard-data"), description="Where the embedded default keeps its SQLite database and blobs.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. Default: SQLite in the data dir.")
    redis_url: str | None = Field(default=None, description="Redis for shared caches and clock; default: in-process cache.")
    storage_url: str | None = Field(default=None, description="Blob storage, e.g. file:///srv/blobs. Default: <data dir>/blobs.")
    base_url: str | None = Field(default=None, description="Public URL when behind a proxy (links in index pages).")
    private: bool = Field(default=False, description="When true every read needs a token.")
    max_upload_bytes: int = Field(default=1024**3, description="Largest accepted upload.")
    test_hooks: bool = Field(default=False, description="Expose test-only endpoints (set_time, ...). Never in production.")
    cache_entries: int = Field(default=4096, description="In-process cache size (entries).")
    database_wait_seconds: float = Field(
        default=10, gt=0, description="Longest a request waits to connect to the database or for a write lock before answering 503."
    )

    metrics: bool = Field(default=True, description="Count requests for /metrics; false: no metrics and no per-request wrapper at all.")
    metrics_public: bool = Field(default=False, description="When true /metrics answers anonymous callers too; else only an admin token.")
    metrics_dir: Path | None = Field(
        default=None, description="Where workers leave their metrics for a scrape to sum; `packyard serve` makes a fresh one at every start."
    )
    access_log: Literal["json", "off"] = Field(default="off", description="json: one JSON line per request on stdout.")

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'packyard.db').resolve()}"

    @cached_property
    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return (self.data_dir / "blobs").resolve().as_uri()

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
