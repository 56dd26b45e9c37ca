"""`/api/v1/gems/<gem>.json` and `/api/v1/versions/<gem>.json` in rubygems.org's shapes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session

from packyard.models import Artifact, Package
from packyard.services.packages import list_artifacts

from packyard_rubygems.formats.gem_version import GemVersion

URI_KEYS = ("homepage_uri", "wiki_uri", "documentation_uri", "mailing_list_uri", "source_code_uri",
            "bug_tracker_uri", "changelog_uri", "funding_uri")


def _iso_ms(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _requirement_or_none(req: str | None) -> str | None:
    return None if not req or req == ">= 0" else req


def _indexed(session: Session, package: Package) -> list[Artifact]:
    return [a for a in list_artifacts(session, package) if not a.yanked]


def _newest_first(artifacts: list[Artifact]) -> list[Artifact]:
    def key(a: Artifact):
        meta = a.meta or {}
        return (GemVersion(meta.get("version", "0")), a.id)

    return sorted(artifacts, key=key, reverse=True)


def version_payload(artifact: Artifact) -> dict[str, Any]:
    meta = artifact.meta or {}
    version = GemVersion(meta.get("version", "0"))
    return {
        "authors": ", ".join(meta.get("authors") or []),
        "built_at": _iso_ms(datetime.fromisoformat(meta["date"])) if meta.get("date") else None,
        "created_at": _iso_ms(artifact.uploaded_at),
        "description": meta.get("description") or meta.get("summary"),
        "downloads_count": 0,
        "metadata": meta.get("metadata") or {},
        "number": meta.get("version"),
        "summary": meta.get("summary"),
        "platform": meta.get("platform") or "ruby",
        "rubygems_version": _requirement_or_none(meta.get("required_rubygems_version")),
        "ruby_version": _requirement_or_none(meta.get("required_ruby_version")),
        "prerelease": version.is_prerelease,
        "licenses": meta.get("licenses") or [],
        "requirements": [],
        "sha": artifact.sha256,
        "spec_sha": None,
    }


def versions_payload(session: Session, package: Package) -> list[dict[str, Any]]:
    return [version_payload(a) for a in _newest_first(_indexed(session, package))]


def _latest(artifacts: list[Artifact]) -> Artifact | None:
    """rubygems.org's most recent version: the newest release, on `ruby` when there is one."""
    if not artifacts:
        return None
    releases = [a for a in artifacts if not GemVersion((a.meta or {}).get("version", "0")).is_prerelease]
    pool = _newest_first(releases or artifacts)
    top = GemVersion((pool[0].meta or {}).get("version", "0"))
    same = [a for a in pool if GemVersion((a.meta or {}).get("version", "0")) == top]
    ruby = [a for a in same if (a.meta or {}).get("platform", "ruby") == "ruby"]
    return (ruby or same)[0]


def gem_payload(session: Session, package: Package, source_url: str) -> dict[str, Any] | None:
    latest = _latest(_indexed(session, package))
    if latest is None:
        return None
    meta = latest.meta or {}
    metadata = meta.get("metadata") or {}
    payload: dict[str, Any] = {
        "name": package.name,
        "downloads": 0,
        "version": meta.get("version"),
        "version_created_at": _iso_ms(latest.uploaded_at),
        "version_downloads": 0,
        "platform": meta.get("platform") or "ruby",
        "authors": ", ".join(meta.get("authors") or []),
        "info": meta.get("description") or meta.get("summary"),
        "licenses": meta.get("licenses") or None,
        "metadata": metadata,
        "yanked": False,
        "sha": latest.sha256,
        "spec_sha": None,
        "project_uri": f"{source_url}/api/v1/gems/{package.name}.json",
        "gem_uri": f"{source_url}/gems/{latest.filename}",
    }
    for key in URI_KEYS:
        payload[key] = metadata.get(key)
    if not payload["homepage_uri"]:
        payload["homepage_uri"] = meta.get("homepage")
    payload["dependencies"] = {
        "development": [{"name": n, "requirements": r} for n, r in meta.get("development_dependencies") or []],
        "runtime": [{"name": n, "requirements": r} for n, r in meta.get("runtime_dependencies") or []],
    }
    return payload
