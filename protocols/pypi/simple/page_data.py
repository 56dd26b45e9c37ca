"""The data behind simple-API pages, as plain values, independent of any serialization.

``simple_html`` and ``simple_json`` render these to bytes; the adapter builds them from
the core's rows.  Keeping them plain lets the same bytes be cached or written out as
static files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

API_VERSION = "1.4"
PROJECT_STATUSES = ("active", "archived", "quarantined", "deprecated")


@dataclass(frozen=True)
class IndexEntry:
    name: str  # display name
    normalized_name: str
    last_serial: int


@dataclass(frozen=True)
class IndexPage:
    projects: list[IndexEntry]
    last_serial: int


@dataclass(frozen=True)
class FileLink:
    filename: str
    url: str  # relative to the project page, without the hash fragment
    sha256: str
    size: int | None  # None only for a proxied upstream file whose index gave none
    upload_time: datetime | None  # likewise
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    core_metadata_sha256: str | None = None  # set when a .metadata sidecar exists


@dataclass(frozen=True)
class ProjectPage:
    name: str  # display name
    normalized_name: str
    files: list[FileLink]
    versions: list[str]
    last_serial: int
    status: str = "active"
    status_reason: str | None = None


def format_upload_time(moment: datetime) -> str:
    """``yyyy-mm-ddThh:mm:ss.ffffffZ`` in UTC, the form PEP 700 and pip/uv expect."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
