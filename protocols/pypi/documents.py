"""Rendered read-path documents, cached under keys that carry a change serial.

A write moves the serial on, so a stale entry is never read again, in any worker (the serial
comes from Redis or the database).  Package state is keyed by the ecosystem serial (one
lookup per request); page bytes by the package's own ``last_serial``, so a publish to one
project does not re-render the others.  Building on a miss does the database work; nothing
here grows with the number of projects except the root listing itself.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from packaging.utils import canonicalize_version
from packyard.models import Artifact, Package
from packyard.services import packages as package_queries
from starlette.concurrency import run_in_threadpool

from . import json_api, simple_html, simple_json
from .simple_pages import FileLink, IndexEntry, IndexPage, ProjectPage
from .wire import strong_etag

if TYPE_CHECKING:
    from packyard.auth import Identity
    from packyard.registry import Registry

ECOSYSTEM = "pypi"
STATE_TTL = 600  # seconds


@dataclass(frozen=True)
class Document:
    body: bytes
    etag: str

    def encode(self) -> bytes:
        return self.etag.encode("ascii") + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> Document:
        etag, _, body = raw.partition(b"\n")
        return cls(body, etag.decode("ascii"))

    @classmethod
    def of(cls, body: bytes) -> Document:
        return cls(body, strong_etag(body))


@dataclass(frozen=True)
class PackageState:
    id: int
    name: str
    normalized_name: str
    visibility: str
    status: str
    status_reason: str | None
    last_serial: int

    @property
    def is_private(self) -> bool:
        return self.visibility == "private"

    @property
    def offers_files(self) -> bool:
        return self.status != "quarantined"  # PEP 792: quarantined projects offer no files


@dataclass(frozen=True)
class FileInfo:
    filename: str
    sha256: str
    size: int
    has_metadata: bool


async def _cached(registry: Registry, key: str, build, ttl: int | None = None) -> bytes:
    hit = registry.cache.get(key)
    if hit is not None:
        return hit
    value = await run_in_threadpool(build)
    registry.cache.set(key, value, ttl=ttl)
    return value


# -- package state ------------------------------------------------------------------------


async def package_state(registry: Registry, normalized: str, serial: int) -> PackageState | None:
    def build() -> bytes:
        with registry.db.read() as session:
            package = package_queries.get_package(session, ECOSYSTEM, normalized)
            if package is None:
                return b"null"
            return json.dumps(
                asdict(
                    PackageState(
                        package.id, package.name, package.normalized_name, package.visibility,
                        package.status, package.status_reason, package.last_serial,
                    )
                )
            ).encode()

    # keyed by the registry-wide serial, so short-lived: the next write makes it unreachable
    data = json.loads(await _cached(registry, f"pypi:state:{serial}:{normalized}", build, ttl=STATE_TTL))
    return PackageState(**data) if data else None


# -- simple API ----------------------------------------------------------------------------


def _version_key(registry: Registry):
    return registry.adapter(ECOSYSTEM).version_sort_key


def _file_link(normalized: str, artifact: Artifact) -> FileLink:
    core = artifact.meta.get("core_metadata") or {}
    return FileLink(
        filename=artifact.filename,
        url=f"../../files/{quote(normalized)}/{quote(artifact.filename)}",
        sha256=artifact.sha256,
        size=artifact.size,
        upload_time=artifact.uploaded_at,
        requires_python=artifact.meta.get("requires_python"),
        yanked=artifact.yanked,
        yanked_reason=artifact.yank_reason,
        core_metadata_sha256=core.get("sha256"),
    )


def _project_page(registry: Registry, state: PackageState) -> ProjectPage:
    key = _version_key(registry)
    with registry.db.read() as session:
        package = session.get(Package, state.id)
        versions = package_queries.list_versions(session, package)
        artifacts = package_queries.list_artifacts(session, package) if state.offers_files else []
    by_id = {v.id: v.version for v in versions}
    artifacts.sort(key=lambda a: (key(by_id[a.version_id]), a.filename))
    return ProjectPage(
        name=state.name,
        normalized_name=state.normalized_name,
        files=[_file_link(state.normalized_name, a) for a in artifacts],
        versions=sorted((v.version for v in versions), key=key) if state.offers_files else [],
        last_serial=state.last_serial,
        status=state.status,
        status_reason=state.status_reason,
    )


async def project_page(registry: Registry, state: PackageState, kind: str) -> Document:
    """``kind`` is "html" or "json"."""

    def build() -> bytes:
        page = _project_page(registry, state)
        render = simple_json.render_project if kind == "json" else simple_html.render_project
        return Document.of(render(page)).encode()

    key = f"pypi:simple:{state.normalized_name}:{state.last_serial}:{state.status}:{kind}"
    return Document.decode(await _cached(registry, key, build))


def _visible_packages(registry: Registry, identity: Identity | None) -> list[Package]:
    with registry.db.read() as session:
        return package_queries.list_packages(session, ECOSYSTEM, where=registry.readable_packages(identity))


async def index_page(registry: Registry, serial: int, kind: str, identity: Identity | None) -> Document:
    """The root listing: one shared body for anonymous readers, one per token otherwise."""

    def build() -> bytes:
        packages = _visible_packages(registry, identity)
        page = IndexPage(
            projects=[IndexEntry(p.name, p.normalized_name, p.last_serial) for p in packages],
            last_serial=serial,
        )
        render = simple_json.render_index if kind == "json" else simple_html.render_index
        return Document.of(render(page)).encode()

    if identity is None or identity.token is None:
        raw = await _cached(registry, f"pypi:index:{serial}:anonymous:{kind}", build)
    else:
        raw = await _cached(registry, f"pypi:index:{serial}:token{identity.token.id}:{kind}", build, ttl=STATE_TTL)
    return Document.decode(raw)


# -- files -----------------------------------------------------------------------------------


async def file_info(registry: Registry, state: PackageState, filename: str) -> FileInfo | None:
    def build() -> bytes:
        with registry.db.read() as session:
            artifact = package_queries.find_artifact(session, ECOSYSTEM, filename)
        if artifact is None or artifact.package_id != state.id:
            return b"null"
        info = FileInfo(artifact.filename, artifact.sha256, artifact.size, bool(artifact.meta.get("core_metadata")))
        return json.dumps(asdict(info)).encode()

    data = json.loads(await _cached(registry, f"pypi:file:{state.last_serial}:{state.id}:{filename}", build))
    return FileInfo(**data) if data else None


def encode_core_metadata(raw: bytes) -> dict:
    """How a wheel's METADATA is kept in the artifact's meta, byte for byte."""
    try:
        return {"text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}


async def core_metadata(registry: Registry, state: PackageState, filename: str) -> bytes | None:
    def build() -> bytes:
        with registry.db.read() as session:
            artifact = package_queries.find_artifact(session, ECOSYSTEM, filename)
        core = (artifact.meta.get("core_metadata") or {}) if artifact and artifact.package_id == state.id else {}
        if "text" in core:
            return b"1" + core["text"].encode("utf-8")
        if "base64" in core:
            return b"1" + base64.b64decode(core["base64"])
        return b"0"

    raw = await _cached(registry, f"pypi:metadata:{state.last_serial}:{state.id}:{filename}", build)
    return raw[1:] if raw[:1] == b"1" else None


# -- legacy JSON API -------------------------------------------------------------------------


def _releases(registry: Registry, state: PackageState, base: str) -> tuple[list[json_api.Release], list[str]]:
    with registry.db.read() as session:
        package = session.get(Package, state.id)
        versions = package_queries.list_versions(session, package)
        artifacts = package_queries.list_artifacts(session, package)
        owner_names = [u.name for u in package_queries.owners(session, package)]
    files_by_version: dict[int, list[json_api.ReleaseFile]] = {v.id: [] for v in versions}
    for a in artifacts:
        core = a.meta.get("core_metadata") or {}
        files_by_version[a.version_id].append(
            json_api.ReleaseFile(
                filename=a.filename,
                url=f"{base}/files/{quote(state.normalized_name)}/{quote(a.filename)}",
                packagetype=a.meta.get("packagetype", "sdist"),
                python_version=a.meta.get("python_version", "source"),
                md5=a.md5,
                sha256=a.sha256,
                blake2b_256=a.blake2b_256,
                size=a.size,
                upload_time=a.uploaded_at,
                requires_python=a.meta.get("requires_python"),
                yanked=a.yanked,
                yanked_reason=a.yank_reason,
                core_metadata_sha256=core.get("sha256"),
                comment_text=a.meta.get("comment"),
            )
        )
    releases = [
        json_api.Release(v.version, files_by_version[v.id], v.meta.get("metadata", {})) for v in versions
    ]
    return releases, owner_names


async def json_document(registry: Registry, state: PackageState, version: str | None, base: str) -> Document | None:
    """``/pypi/<project>/json`` (version None) or ``/pypi/<project>/<version>/json``; None if unknown."""

    def build() -> bytes:
        releases, owner_names = _releases(registry, state, base)
        project_url = f"{base}/simple/{state.normalized_name}/"

        def release_url(v: str) -> str:
            return f"{base}/pypi/{state.normalized_name}/{v}/json"

        if version is None:
            if not releases:
                return b""
            body = json_api.render_project(state.name, releases, state.last_serial, owner_names, project_url, release_url)
            return Document.of(body).encode()
        wanted = canonicalize_version(version)
        matches = [r for r in releases if canonicalize_version(r.version) == wanted]
        exact = [r for r in matches if r.version == version]
        chosen = (exact or matches or [None])[0]
        if chosen is None:
            return b""
        body = json_api.render_release(state.name, chosen, state.last_serial, owner_names, project_url, release_url(chosen.version))
        return Document.of(body).encode()

    key = f"pypi:json:{state.normalized_name}:{state.last_serial}:{version or ''}:{base}"
    raw = await _cached(registry, key, build)
    return Document.decode(raw) if raw else None
