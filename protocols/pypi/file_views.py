"""Downloads: ``/files/<project>/<filename>`` (with Range) and its ``.metadata`` sidecar (PEP 658),
both from stored documents (a download names its blob), so neither reads the database."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from packyard.documents.store import NeedsIO
from packyard.documents.stored import BLOB, DOCUMENT, StoredDocument
from packyard.http.serve import Representation, Representations, serve
from packyard.http.small_blobs import SMALL_BLOBS

from packyard_pypi import documents
from packyard_pypi.access import require_read, stored
from packyard_pypi.upstream import views as proxy
from packyard_pypi.wire import Request, Send, respond_text

if TYPE_CHECKING:
    from packyard.registry import Registry


def _cache_control(registry: Registry, public: bool) -> tuple[bytes, bytes]:
    """A published file never changes; only private ones must stay out of shared caches."""
    scope = b"private" if registry.restricted(public) else b"public"
    return (b"cache-control", scope + b", max-age=31536000, immutable")


async def _warm(registry: Registry, request: Request, send: Send, project: str, filename: str) -> bool:
    """A kept upstream file served before, while that still holds (`proxy.warm`): the local path's `serve()`."""
    rep = proxy.warm(registry, ("file", project, filename))
    if rep is None:
        return False
    if rep.body is None and rep.open is not None and request.method != "HEAD":
        # a kept upstream file's ETag is its quoted sha256 (upstream/serving.py): small ones are
        # answered from memory, like a local file
        body = await SMALL_BLOBS.body(rep.etag.strip('"'), rep.size, rep.open)
        if body is not None:
            rep = replace(rep, body=body)
    await serve(request.scope, send, rep, unsatisfiable="416")
    return True


async def download(registry: Registry, request: Request, send: Send, project: str, filename: str) -> None:
    if await _warm(registry, request, send, project, filename):
        return
    doc = await stored(registry, documents.file_key(project, filename))
    await require_read(registry, request, project, doc)
    if doc is None and await proxy.download(registry, request, send, canonicalize_name(project), filename, metadata=False):
        return
    if doc is None:
        await respond_text(send, 404, f"No file named '{filename}' in project '{project}' (unknown, or the project offers no files).")
        return
    sha256, size = doc.blob
    storage = registry.storage
    body = await SMALL_BLOBS.body(sha256, size, lambda: storage.open(sha256)) if request.method != "HEAD" else None
    rep = Representation(doc.etag, doc.media_type, body, open=lambda: storage.open(sha256), size=size,
                         headers=(_cache_control(registry, doc.public),))
    await serve(request.scope, send, rep, unsatisfiable="416")


async def metadata(registry: Registry, request: Request, send: Send, project: str, filename: str) -> None:
    if await _warm(registry, request, send, project, filename + ".metadata"):
        return
    doc = await stored(registry, documents.file_key(project, filename) + ".metadata")
    await require_read(registry, request, project, doc)
    if doc is None and await proxy.download(registry, request, send, canonicalize_name(project), filename, metadata=True):
        return
    if doc is None:
        await respond_text(send, 404, f"No core metadata is published for '{filename}' (only wheels have it).")
        return
    await serve(request.scope, send, _metadata(registry, doc))


_METADATA = Representations()  # by (ETag, serial): a sidecar's headers, built once


def _metadata(registry: Registry, doc: StoredDocument) -> Representation:
    return _METADATA.get((doc.etag, doc.serial), lambda: Representation.of(doc, headers=(_cache_control(registry, doc.public),)))


def in_memory(registry: Registry, project: str, filename: str) -> Representation | None:
    """The anonymous answer to `/files/<project>/<filename>` (and its `.metadata`) when this process
    holds the bytes: a public sidecar, or a small public file already read (the hot path,
    `hot_reads.py`); None: ask the handlers."""
    try:
        doc = registry.documents.get(documents.ECOSYSTEM, documents.file_key(project, filename), io=False)
    except NeedsIO:
        return None
    if doc is None or not doc.public:
        return None
    if doc.kind == DOCUMENT:
        return _metadata(registry, doc)
    if doc.kind != BLOB:
        return None
    sha256, size = doc.blob
    body = SMALL_BLOBS.cached(sha256, size)
    if body is None:
        return None
    return Representation(doc.etag, doc.media_type, body, size=size, headers=(_cache_control(registry, True),))
