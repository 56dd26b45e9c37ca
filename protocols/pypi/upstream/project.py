"""An upstream project page (PEP 691 JSON, or PEP 503 HTML from an upstream that cannot do JSON)
read into the adapter's `ProjectPage`, with every file's upstream URL and announced digests kept
aside for the download.

A file the upstream announces without a sha256 is left out: its bytes could not be checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import quote, urldefrag, urljoin

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from packyard.errors import PackyardError
from packyard.storage.base import is_sha256

from packyard_pypi.simple.page_data import PROJECT_STATUSES, FileLink, ProjectPage


class UpstreamPageUnreadable(PackyardError):
    status_code = 502


@dataclass(frozen=True)
class UpstreamFile:
    """Where a proxied file comes from and what it must hash to."""

    filename: str
    url: str  # absolute upstream URL
    sha256: str
    size: int | None
    version: str | None
    metadata_sha256: str | None  # the PEP 658 sidecar's, when the upstream has one


@dataclass(frozen=True)
class ProxiedProject:
    page: ProjectPage
    files: dict[str, UpstreamFile]
    serial: int


def _version_of(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _metadata_sha256(value: object) -> str | None:
    if isinstance(value, dict):
        digest = value.get("sha256")
        return digest.lower() if isinstance(digest, str) and is_sha256(digest.lower()) else None
    return None


def _link(normalized: str, filename: str, sha256: str, size, upload_time, requires_python, yanked, metadata_sha256) -> FileLink:
    return FileLink(
        filename=filename,
        url=f"../../files/{quote(normalized)}/{quote(filename)}",
        sha256=sha256,
        size=size if isinstance(size, int) and size >= 0 else None,
        upload_time=upload_time,
        requires_python=requires_python if isinstance(requires_python, str) and requires_python else None,
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
        core_metadata_sha256=metadata_sha256,
    )


def _project(normalized: str, display: str, entries: list[tuple[FileLink, str]], versions: list[str] | None,
             serial: int, status: str = "active", status_reason: str | None = None) -> ProxiedProject:
    links = [link for link, _url in entries]
    files = {link.filename: UpstreamFile(link.filename, url, link.sha256, link.size, _version_of(link.filename), link.core_metadata_sha256)
             for link, url in entries}
    if versions is None:
        versions = sorted({v for f in files.values() if (v := f.version) is not None})
    page = ProjectPage(name=display, normalized_name=normalized, files=links, versions=versions, last_serial=serial,
                       status=status if status in PROJECT_STATUSES else "active", status_reason=status_reason)
    return ProxiedProject(page, files, serial)


def from_json(normalized: str, body: bytes, page_url: str) -> ProxiedProject:
    try:
        data = json.loads(body)
        raw_files = data["files"]
        assert isinstance(raw_files, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise UpstreamPageUnreadable(f"The upstream page {page_url} is not a PEP 691 project page.") from None
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    serial = meta.get("_last-serial") if isinstance(meta.get("_last-serial"), int) else 0
    entries: list[tuple[FileLink, str]] = []
    for item in raw_files:
        if not isinstance(item, dict) or not isinstance(item.get("filename"), str) or not isinstance(item.get("url"), str):
            continue
        hashes = item.get("hashes") if isinstance(item.get("hashes"), dict) else {}
        sha256 = str(hashes.get("sha256", "")).lower()
        if not is_sha256(sha256) or "/" in item["filename"]:
            continue
        metadata = item.get("core-metadata", item.get("dist-info-metadata", item.get("data-dist-info-metadata")))
        link = _link(normalized, item["filename"], sha256, item.get("size"), _time(item.get("upload-time")),
                     item.get("requires-python"), item.get("yanked"), _metadata_sha256(metadata))
        entries.append((link, urldefrag(urljoin(page_url, item["url"])).url))
    versions = data.get("versions")
    versions = [v for v in versions if isinstance(v, str)] if isinstance(versions, list) else None
    status = data.get("project-status") if isinstance(data.get("project-status"), dict) else {}
    return _project(normalized, str(data.get("name") or normalized), entries, versions, serial,
                    str(status.get("status", "active")), status.get("reason") if isinstance(status.get("reason"), str) else None)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._current, self._text = dict(attrs), []

    def handle_data(self, data):
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


def from_html(normalized: str, body: bytes, page_url: str) -> ProxiedProject:
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    entries: list[tuple[FileLink, str]] = []
    for attrs, text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urldefrag(urljoin(page_url, href))
        algorithm, _, digest = fragment.partition("=")
        filename = text or url.rsplit("/", 1)[-1]
        if algorithm != "sha256" or not is_sha256(digest.lower()) or "/" in filename:
            continue
        metadata = attrs.get("data-core-metadata") or attrs.get("data-dist-info-metadata")
        metadata_sha256 = None
        if metadata and metadata.startswith("sha256="):
            metadata_sha256 = _metadata_sha256({"sha256": metadata.removeprefix("sha256=")})
        yanked = attrs.get("data-yanked")
        link = _link(normalized, filename, digest.lower(), None, None, attrs.get("data-requires-python"),
                     (yanked or True) if yanked is not None else False, metadata_sha256)
        entries.append((link, url))
    return _project(normalized, normalized, entries, None, 0)


def parse(normalized: str, body: bytes, media_type: str, page_url: str) -> ProxiedProject:
    if "json" in media_type:
        return from_json(normalized, body, page_url)
    return from_html(normalized, body, page_url)
