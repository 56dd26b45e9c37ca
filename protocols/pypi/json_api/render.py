"""The legacy JSON API (``/pypi/<project>/json``, ``/pypi/<project>/<version>/json``).

Rendered in the shape pypi.org serves, from plain values; see
``../shared/reference/pypi-json-api.md``.  ``info`` comes from the release's core metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from packaging.version import Version


@dataclass(frozen=True)
class ReleaseFile:
    filename: str
    url: str  # absolute
    packagetype: str
    python_version: str
    md5: str
    sha256: str
    blake2b_256: str
    size: int
    upload_time: datetime
    requires_python: str | None
    yanked: bool
    yanked_reason: str | None
    core_metadata_sha256: str | None
    comment_text: str | None = None


@dataclass(frozen=True)
class Release:
    version: str
    files: list[ReleaseFile]
    metadata: dict  # packaging RawMetadata-style keys of the release's core metadata

    @property
    def parsed(self) -> Version:
        return Version(self.version)

    @property
    def yanked(self) -> bool:
        return bool(self.files) and all(f.yanked for f in self.files)

    @property
    def yanked_reason(self) -> str | None:
        reasons = [f.yanked_reason for f in self.files if f.yanked and f.yanked_reason]
        return reasons[0] if reasons else None


def choose_latest(releases: list[Release]) -> Release:
    """Non-yanked before yanked, final before pre-release, then the highest version."""
    return max(releases, key=lambda r: (not r.yanked, not r.parsed.is_prerelease, r.parsed))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _file(item: ReleaseFile) -> dict:
    moment = _utc(item.upload_time)
    iso = moment.replace(tzinfo=None).isoformat() + "Z"
    return {
        "comment_text": item.comment_text,
        "core-metadata": {"sha256": item.core_metadata_sha256} if item.core_metadata_sha256 else False,
        "digests": {"blake2b_256": item.blake2b_256, "md5": item.md5, "sha256": item.sha256},
        "downloads": -1,
        "filename": item.filename,
        "has_sig": False,
        "md5_digest": item.md5,
        "packagetype": item.packagetype,
        "python_version": item.python_version,
        "requires_python": item.requires_python,
        "size": item.size,
        "upload_time": moment.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": iso,
        "url": item.url,
        "yanked": item.yanked,
        "yanked_reason": item.yanked_reason,
    }


def _info(name: str, release: Release, project_url: str, release_url: str) -> dict:
    meta = release.metadata
    keywords = meta.get("keywords")
    platforms = meta.get("platforms") or []
    return {
        "author": meta.get("author"),
        "author_email": meta.get("author_email"),
        "bugtrack_url": None,
        "classifiers": list(meta.get("classifiers") or []),
        "description": meta.get("description") or "",
        "description_content_type": meta.get("description_content_type"),
        "docs_url": None,
        "download_url": meta.get("download_url"),
        "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "dynamic": meta.get("dynamic") or None,
        "home_page": meta.get("home_page"),
        "keywords": ", ".join(keywords) if isinstance(keywords, list) else keywords,
        "license": meta.get("license"),
        "license_expression": meta.get("license_expression"),
        "license_files": meta.get("license_files") or None,
        "maintainer": meta.get("maintainer"),
        "maintainer_email": meta.get("maintainer_email"),
        "name": name,
        "package_url": project_url,
        "platform": platforms[0] if platforms else None,
        "project_url": project_url,
        "project_urls": meta.get("project_urls") or None,
        "provides_extra": meta.get("provides_extra") or None,
        "release_url": release_url,
        "requires_dist": meta.get("requires_dist") or None,
        "requires_python": meta.get("requires_python"),
        "summary": meta.get("summary"),
        "version": release.version,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason,
    }


def _dumps(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")


def _ownership(owners: list[str]) -> dict:
    return {"organization": None, "roles": [{"role": "Owner", "user": u} for u in sorted(owners)]}


def render_project(
    name: str,
    releases: list[Release],
    last_serial: int,
    owners: list[str],
    project_url: str,
    release_url_for,
) -> bytes:
    """``/pypi/<project>/json``: ``info`` and ``urls`` of the latest release, all ``releases``."""
    latest = choose_latest(releases)
    ordered = sorted(releases, key=lambda r: r.parsed, reverse=True)
    return _dumps(
        {
            "info": _info(name, latest, project_url, release_url_for(latest.version)),
            "last_serial": last_serial,
            "ownership": _ownership(owners),
            "releases": {
                r.version: [_file(f) for f in sorted(r.files, key=lambda f: f.filename)] for r in ordered
            },
            "urls": [_file(f) for f in sorted(latest.files, key=lambda f: f.filename)],
            "vulnerabilities": [],
        }
    )


def render_release(
    name: str,
    release: Release,
    last_serial: int | str,
    owners: list[str],
    project_url: str,
    release_url: str,
) -> bytes:
    """``/pypi/<project>/<version>/json``: like the project document without ``releases``
    (`last_serial` may be a placeholder the read fills in, see `documents._render_json_api`)."""
    return _dumps(
        {
            "info": _info(name, release, project_url, release_url),
            "last_serial": last_serial,
            "ownership": _ownership(owners),
            "urls": [_file(f) for f in sorted(release.files, key=lambda f: f.filename)],
            "vulnerabilities": [],
        }
    )
