"""Settings, read from flags and `PACKYARD_*` environment variables."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


_UPSTREAM_VARIABLE = re.compile(r"PACKYARD_([A-Z0-9]+)_UPSTREAM")


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
    metrics_flush_seconds: float = Field(
        default=1.0, gt=0, description="How often each worker writes its totals for a scrape answered by another worker (their greatest age)."
    )
    access_log: Literal["json", "off"] = Field(default="off", description="json: one JSON line per request on stdout.")

    upstreams: dict[str, str] = Field(
        default_factory=dict,
        description="Upstream per ecosystem, from PACKYARD_<ECOSYSTEM>_UPSTREAM (e.g. PACKYARD_PYPI_UPSTREAM=https://pypi.org/simple/); "
        "none by default (offline). Credentials go in the URL's userinfo and are sent to that host only.",
    )
    upstream_timeout: float = Field(default=10, gt=0, description="Longest wait (seconds) to connect to an upstream, or between two reads of its answer.")
    upstream_cache_seconds: float = Field(default=600, ge=0, description="How long an upstream index page is served before it is revalidated (ETag).")

    @model_validator(mode="after")
    def _upstreams_from_environment(self) -> Settings:
        """`PACKYARD_<ECOSYSTEM>_UPSTREAM` for any ecosystem: the core names none of them."""
        for variable, value in os.environ.items():
            match = _UPSTREAM_VARIABLE.fullmatch(variable)
            if match and value.strip():
                self.upstreams.setdefault(match.group(1).lower(), value.strip())
        return self

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
