"""The PyPI documents, rendered when a change alters them and kept in the core's document store.

Keys are the URL paths below `/pypi/`, so the store's public files are laid out as the URLs:
- `simple/index.html`, `simple/index.json`: the anonymous root listing;
- `simple/<project>/index.html`, `simple/<project>/index.json`: project pages (PEP 503 / 691);
- `<page key>.gz`: a page's gzip variant, for both root listings and for project pages from 8 KiB
  (`simple/compression.py`);
- `files/<project>/<filename>`: each downloadable file, as a blob document;
- `files/<project>/<filename>.metadata`: its PEP 658 core metadata, when a wheel has it;
- `pypi/<project>/json`, `pypi/<project>/<version>/json`: the JSON API, as templates holding the
  base-URL placeholder (their URLs are absolute), filled per request; a version is also stored
  under its canonical spelling (`1.0` for `1.0.0`) unless another version has that spelling.

A change to a package re-renders that package's documents (O(its files)) in its transaction; the
root listing (O(projects)) is only marked stale there, and rendered after the commit, once for a
burst of changes (`DocumentStore.refresh_later`), or by the next reader that finds it stale.
A quarantined project (PEP 792) keeps its pages (status, no files) and loses every file document
and its JSON API, which is hidden as on PyPI. Private projects' documents are stored as not
public: served only to readers with a read scope, never written where a static server serves.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from packaging.utils import canonicalize_version
from sqlmodel import Session

from packyard.documents import rows
from packyard.documents.store import stale_key
from packyard.documents.stored import BASE_PLACEHOLDER, BLOB, SERIAL_PLACEHOLDER, TEMPLATE, StoredDocument
from packyard.http.serve import static_etag, strong_etag
from packyard.models import Artifact, Package
from packyard.services import packages as package_queries

from packyard_pypi.json_api import render as json_api
from packyard_pypi.simple import compression, html_page as simple_html, json_page as simple_json
from packyard_pypi.simple.page_data import FileLink, IndexEntry, IndexPage, ProjectPage

if TYPE_CHECKING:
    from packyard.auth import Identity
    from packyard.registry import Registry

ECOSYSTEM = "pypi"
HTML = "text/html; charset=utf-8"
JSON_V1 = "application/vnd.pypi.simple.v1+json"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
ROOT_HTML, ROOT_JSON = "simple/index.html", "simple/index.json"


def page_keys(normalized: str) -> tuple[str, str]:
    return f"simple/{normalized}/index.html", f"simple/{normalized}/index.json"


def file_key(normalized: str, filename: str) -> str:
    return f"files/{normalized}/{filename}"


def json_key(normalized: str, version: str | None = None) -> str:
    return f"pypi/{normalized}/json" if version is None else f"pypi/{normalized}/{version}/json"


def content_type(filename: str) -> str:
    if filename.endswith(".whl"):
        return "application/zip"
    if filename.endswith(".tar.gz"):
        return "application/gzip"
    return "application/octet-stream"


def encode_core_metadata(raw: bytes) -> dict:
    """How a wheel's METADATA is kept in the artifact's meta, byte for byte."""
    try:
        return {"text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}


def core_metadata_bytes(artifact: Artifact) -> bytes | None:
    core = artifact.meta.get("core_metadata") or {}
    if "text" in core:
        return core["text"].encode("utf-8")
    if "base64" in core:
        return base64.b64decode(core["base64"])
    return None


# -- rendering -----------------------------------------------------------------------------------


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


def _release_file(normalized: str, artifact: Artifact) -> json_api.ReleaseFile:
    core = artifact.meta.get("core_metadata") or {}
    return json_api.ReleaseFile(
        filename=artifact.filename,
        url=f"{BASE_PLACEHOLDER}/files/{quote(normalized)}/{quote(artifact.filename)}",
        packagetype=artifact.meta.get("packagetype", "sdist"),
        python_version=artifact.meta.get("python_version", "source"),
        md5=artifact.md5,
        sha256=artifact.sha256,
        blake2b_256=artifact.blake2b_256,
        size=artifact.size,
        upload_time=artifact.uploaded_at,
        requires_python=artifact.meta.get("requires_python"),
        yanked=artifact.yanked,
        yanked_reason=artifact.yank_reason,
        core_metadata_sha256=core.get("sha256"),
        comment_text=artifact.meta.get("comment"),
    )


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str
    media_type: str
    kind: str = "document"


def package_documents(registry: Registry, session: Session, package: Package, serial: int) -> dict[str, Rendered]:
    """Every document of one package at `serial` (its last change), by key: pure rendering."""
    key = registry.adapter(ECOSYSTEM).version_sort_key
    normalized = package.normalized_name
    offers_files = package.status != "quarantined"
    versions = package_queries.list_versions(session, package)
    artifacts = package_queries.list_artifacts(session, package) if offers_files else []
    by_id = {v.id: v.version for v in versions}
    artifacts.sort(key=lambda a: (key(by_id[a.version_id]), a.filename))
    page = ProjectPage(
        name=package.name,
        normalized_name=normalized,
        files=[_file_link(normalized, a) for a in artifacts],
        versions=sorted((v.version for v in versions), key=key) if offers_files else [],
        last_serial=serial,
        status=package.status,
        status_reason=package.status_reason,
    )
    rendered: dict[str, Rendered] = {}

    def put(doc_key: str, body: bytes, media_type: str, etag: str | None = None, kind: str = "document") -> None:
        rendered[doc_key] = Rendered(body, etag or strong_etag(body), media_type, kind)

    html_key, json_key_ = page_keys(normalized)
    # the simple pages carry ETags nginx computes itself (docs/nginx.md): the hot path of the front
    html, json_page = simple_html.render_project(page), simple_json.render_project(page)
    for page_key, body, media_type in ((html_key, html, HTML), (json_key_, json_page, JSON_V1)):
        put(page_key, body, media_type, etag=static_etag(body))
        if compression.wants_gzip_variant(body):
            compressed = compression.gzipped(body)
            put(page_key + compression.GZ_SUFFIX, compressed, media_type, etag=static_etag(compressed))
    for artifact in artifacts:
        put(file_key(normalized, artifact.filename), f"{artifact.blob_sha256} {artifact.size}".encode(), content_type(artifact.filename),
            etag=f'"{artifact.sha256}"', kind=BLOB)
        metadata = core_metadata_bytes(artifact)
        if metadata is not None:
            put(file_key(normalized, artifact.filename) + ".metadata", metadata, TEXT, etag='"' + hashlib.sha256(metadata).hexdigest() + '"')
    if artifacts:
        _render_json_api(session, package, versions, artifacts, serial, put)
    return rendered


def _stored_keys(registry: Registry, session: Session, normalized: str, *, load: bool = False) -> list[str]:
    """The keys of one package's documents (`load`: with their rows read into `session`)."""
    keys_in = registry.documents.load_in if load else registry.documents.keys_in
    return [key for prefix in (f"simple/{normalized}/", f"files/{normalized}/", f"pypi/{normalized}/")
            for key in keys_in(session, ECOSYSTEM, prefix)]


def render_package(registry: Registry, session: Session, package: Package, serial: int, now: datetime) -> None:
    """Store every document of one package that changed, and remove the ones it no longer has.

    The documents of files already published (the download, its `.metadata`) do not change with a
    new version: they are left as stored, so a publish does not rewrite (and fsync) two documents
    per file the package already has."""
    store = registry.documents
    rendered = package_documents(registry, session, package, serial)
    stored = _stored_keys(registry, session, package.normalized_name, load=True)
    for doc_key, doc in rendered.items():
        store.put(session, ECOSYSTEM, doc_key, doc.body, serial=serial, now=now, etag=doc.etag, media_type=doc.media_type,
                  kind=doc.kind, public=not package.is_private, unless_same=True)
    for stale in stored:
        if stale not in rendered:
            store.remove(session, ECOSYSTEM, stale, serial=serial)


def check_documents(registry: Registry, session: Session) -> Iterator[str]:
    """`packyard check`: every stored document against a fresh render of the rows."""
    for package in package_queries.list_packages(session, ECOSYSTEM):
        fresh = package_documents(registry, session, package, package.last_serial)
        stored = {key: rows.read(session, ECOSYSTEM, key) for key in _stored_keys(registry, session, package.normalized_name)}
        for key in sorted(fresh.keys() | stored.keys()):
            doc, want = stored.get(key), fresh.get(key)
            if doc is None:
                yield f"{key} is missing"
            elif want is None:
                yield f"{key} is stored but {package.name} has no such document any more"
            elif (doc.body, doc.etag, doc.public) != (want.body, want.etag, not package.is_private):
                yield f"{key} differs from a fresh render of {package.name}"
    for key, listing in ROOT_LISTINGS:
        doc, marker = rows.read(session, ECOSYSTEM, key), rows.read(session, ECOSYSTEM, stale_key(key))
        if marker is not None and (doc is None or doc.serial < marker.serial):
            continue  # a change marked it stale and its render has not run yet: its next reader renders it
        if doc is None:
            yield f"{key} is missing"
        elif listing(session, doc.serial)[0] != doc.body:
            yield f"{key} differs from a fresh render of the public projects"


def _render_json_api(session: Session, package: Package, versions, artifacts: list[Artifact], serial: int, put) -> None:
    normalized = package.normalized_name
    owner_names = [u.name for u in package_queries.owners(session, package)]
    files_by_version: dict[int, list[json_api.ReleaseFile]] = {v.id: [] for v in versions}
    for artifact in artifacts:
        files_by_version[artifact.version_id].append(_release_file(normalized, artifact))
    releases = [json_api.Release(v.version, files_by_version[v.id], v.meta.get("metadata", {})) for v in versions]
    project_url = f"{BASE_PLACEHOLDER}/simple/{normalized}/"

    def release_url(version: str) -> str:
        return f"{BASE_PLACEHOLDER}/pypi/{normalized}/{version}/json"

    put(json_key(normalized), json_api.render_project(package.name, releases, serial, owner_names, project_url, release_url), JSON, kind=TEMPLATE)
    exact = {r.version for r in releases}
    canonical_taken: set[str] = set()
    for release in releases:
        # the project's latest serial is filled in when read (json_api/views.py): a release's document
        # is rewritten when that release changes, not on every publish of another version
        body = json_api.render_release(package.name, release, SERIAL_PLACEHOLDER, owner_names, project_url, release_url(release.version))
        put(json_key(normalized, release.version), body, JSON, kind=TEMPLATE)
        canonical = canonicalize_version(release.version)
        if canonical not in exact and canonical not in canonical_taken and "/" not in canonical:
            canonical_taken.add(canonical)
            put(json_key(normalized, canonical), body, JSON, kind=TEMPLATE)


def _index_entries(session: Session, where) -> list[IndexEntry]:
    """Only the three columns a listing shows (no ORM objects: the listing is O(projects))."""
    return [IndexEntry(*row) for row in package_queries.name_rows(session, ECOSYSTEM, where)]


def _root_listing(kind: str, *, compressed: bool = False):
    """The anonymous root listing (public projects) in one form, at a serial: O(projects), so a
    change only marks it stale and it is rendered after the commit, once for a burst of changes
    (`DocumentStore.refresh_later`); a reader of a stale listing renders it first (`get_aggregate`).
    `compressed`: its gzip variant, an aggregate of its own (`simple/compression.py`)."""
    render, media_type = (simple_json.render_index, JSON_V1) if kind == "json" else (simple_html.render_index, HTML)

    def listing(session: Session, serial: int) -> tuple[bytes, str, str]:
        page = IndexPage(projects=_index_entries(session, Package.visibility == "public"), last_serial=serial)
        body = render(page)
        if compressed:
            body = compression.gzipped(body)
        return body, static_etag(body), media_type

    return listing


ROOT_LISTINGS = tuple((key + suffix, _root_listing(kind, compressed=bool(suffix)))
                      for key, kind in ((ROOT_HTML, "html"), (ROOT_JSON, "json")) for suffix in ("", compression.GZ_SUFFIX))
ROOT_RENDERS = dict(ROOT_LISTINGS)


def root_listing(registry: Registry, key: str, io: bool = True) -> StoredDocument | None:
    """The stored root listing, rendered first when a change marked it stale (read-your-writes);
    None before the first change. `io=False`: raises NeedsIO when that needs the database. A
    reader that renders one form renders its other encoding too: a static front serves the gzip
    variant only beside the plain file."""
    if io:
        other = key.removesuffix(compression.GZ_SUFFIX) if key.endswith(compression.GZ_SUFFIX) else key + compression.GZ_SUFFIX
        registry.documents.get_aggregate(ECOSYSTEM, other, ROOT_RENDERS[other])
    return registry.documents.get_aggregate(ECOSYSTEM, key, ROOT_RENDERS[key], io)


def mark_root_stale(registry: Registry, session: Session, serial: int, now: datetime) -> None:
    for key, listing in ROOT_LISTINGS:
        registry.documents.refresh_later(session, ECOSYSTEM, key, listing, serial=serial, now=now)


def render_root(registry: Registry, session: Session, serial: int, now: datetime) -> None:
    """Both root listings now, inside the caller's transaction (`render_all`)."""
    for key, listing in ROOT_LISTINGS:
        body, etag, media_type = listing(session, serial)
        registry.documents.put(session, ECOSYSTEM, key, body, serial=serial, now=now, etag=etag, media_type=media_type, public=True)


def listing_for_anonymous(registry: Registry, serial: int, kind: str) -> bytes:
    """Before the first change stored a root listing (an empty registry)."""
    page = IndexPage(projects=[], last_serial=serial)
    return (simple_json.render_index if kind == "json" else simple_html.render_index)(page)


def listing_for(registry: Registry, identity: Identity, serial: int, kind: str) -> bytes:
    """The root listing of a reader with credentials (their private projects too): rendered per
    request, as it depends on the reader's scopes."""
    with registry.db.read() as session:
        projects = _index_entries(session, registry.readable_packages(identity))
    page = IndexPage(projects=projects, last_serial=serial)
    return (simple_json.render_index if kind == "json" else simple_html.render_index)(page)


def render_all(registry: Registry) -> None:
    """Every document from the rows (an upgrade to a new document format)."""
    with registry.db.write(lock=ECOSYSTEM) as session:
        now = registry.clock.now()
        serial = 0
        for package in package_queries.list_packages(session, ECOSYSTEM):
            render_package(registry, session, package, package.last_serial, now)
            serial = max(serial, package.last_serial)
        render_root(registry, session, max(serial, registry.serial(ECOSYSTEM)), now)
