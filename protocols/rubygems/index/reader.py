"""Find the stored document for each read path and check access.

Each lookup first runs on the event loop with `io=False`: a memo hit (or, on the embedded
default, a file read) answers without leaving it; otherwise the store raises NeedsIO and the
caller repeats it in a worker thread with `io=True`.

Every lookup is O(1) in the size of the registry and never renders: documents are rendered when
a change alters them (`index_writer`). The one exception: the specs files and `/names` are
rendered in the background after a change, and the first reader of one that a change has marked
stale renders it (O(gems), once per change), so it lists every acknowledged push. The visibility of a gem travels with its documents, so
anonymous reads of public gems need no database at all. Only readers of private gems get bodies
built per request, and those cost O(their private gems).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from packyard.auth import Identity
from packyard.documents.store import NeedsIO
from packyard.documents.stored import StoredDocument
from packyard.errors import NotFound
from packyard.http.serve import Representation, Representations
from packyard.models import Package
from packyard.services.packages import find_artifact, get_package, private_names

from packyard_rubygems.index import compact_index, documents, legacy_specs, versions_index
from packyard_rubygems.api import messages
from packyard_rubygems.index.compact_index_lines import names_body

if TYPE_CHECKING:
    from packyard.registry import Registry

ECOSYSTEM = documents.ECOSYSTEM
PUBLIC_CACHE = (b"cache-control", b"max-age=60, public")
PRIVATE_CACHE = (b"cache-control", b"private, no-cache")

__all__ = ["IndexReader", "NeedsIO"]


def _digests(body: bytes) -> tuple[tuple[bytes, bytes], ...]:
    """sha-256 digests for bundler >= 2.5 (`Repr-Digest`) and the older `Digest` header."""
    return ((b"digest", compact_index.legacy_digest(body).encode()), (b"repr-digest", compact_index.repr_digest(body).encode()))


def compact_body(body: bytes, *, private: bool) -> Representation:
    """A body built per request (a reader of private gems)."""
    cache = PRIVATE_CACHE if private else PUBLIC_CACHE
    return Representation(compact_index.etag(body), documents.COMPACT_INDEX_TYPE, body, headers=(cache, *_digests(body)))


class IndexReader:
    def __init__(self, registry: Registry):
        self.registry = registry
        self.store = registry.documents
        # ready-to-send representations of stored documents, by document identity
        self._reps = Representations()

    # -- access ---------------------------------------------------------------------------------

    def identify(self, authorization: str | None) -> Identity | None:
        identity = self.registry.authenticate(authorization) if authorization else None
        self.registry.read_access(identity, ECOSYSTEM, None)  # PACKYARD_PRIVATE: anonymous -> 401
        return identity

    def _document(self, key: str, io: bool) -> StoredDocument | None:
        return self.store.get(ECOSYSTEM, key, io)

    def _representation(self, key: str, doc: StoredDocument) -> Representation:
        """Headers of a stored document, built once per document version."""
        return self._reps.get((key, doc.serial, doc.etag), lambda: self._build(doc))

    def _build(self, doc: StoredDocument) -> Representation:
        cache = PRIVATE_CACHE if self.registry.restricted(doc.public) else PUBLIC_CACHE
        extra = _digests(doc.body) if doc.media_type == documents.COMPACT_INDEX_TYPE else ()
        if doc.kind == "blob":
            sha256, size = doc.blob
            storage = self.registry.storage
            return Representation(doc.etag, doc.media_type, open=lambda: storage.open(sha256), size=size, headers=(cache,))
        return Representation.of(doc, headers=(cache, *extra))

    def _gem_document(self, identity: Identity | None, name: str | None, key: str, io: bool) -> Representation | None:
        """`name` None: the gem is known by a file's full name only, which does not say where the
        name ends (`ruby-2fa-1.0.0`); for a private file the database says (its reader is
        authenticated, so it reads the database anyway)."""
        doc = self._document(key, io)
        if doc is None:
            return None
        if name is None and (not doc.public or self.registry.settings.private):
            name = self._owner_of_file(key, io)
        self.registry.document_access(identity, ECOSYSTEM, name, public=doc.public)
        return self._representation(key, doc)

    def _owner_of_file(self, key: str, io: bool) -> str:
        if not io:
            raise NeedsIO()
        full_name = key.rsplit("/", 1)[-1].removesuffix(".gem").removesuffix(documents.QUICK_SUFFIX)
        with self.registry.db.read() as session:
            package = gem_of_file(session, full_name)
        return package.name if package is not None else full_name

    def _private_names(self, identity: Identity | None, io: bool) -> list[str]:
        if identity is None:
            return []
        if not io:
            raise NeedsIO()
        with self.registry.db.read() as session:
            names = private_names(session, ECOSYSTEM, self.registry.readable_packages(identity))
        return [n for n in names if identity.allows(ECOSYSTEM, n, "read")]

    def _aggregate(self, key: str, io: bool) -> StoredDocument | None:
        """A public listing rendered after the changes (`legacy_specs.AGGREGATES`): up to date."""
        return self.store.get_aggregate(ECOSYSTEM, key, legacy_specs.AGGREGATES[key], io)

    def _shared(self, key: str, io: bool, empty: Callable[[], bytes]) -> Representation:
        doc = self._aggregate(key, io) if key in legacy_specs.AGGREGATES else self._document(key, io)
        if doc is None:  # nothing written yet: the empty listing, never stored
            return compact_body(empty(), private=self.registry.restricted())
        return self._representation(key, doc)

    # -- compact index --------------------------------------------------------------------------

    def versions(self, identity: Identity | None, io: bool = True) -> Representation:
        shared = self._shared(documents.VERSIONS, io, lambda: versions_index.base_header(self.registry.clock.now()))
        private = self._private_names(identity, io)
        if not private:
            return shared
        with self.registry.db.read() as session:
            tail = versions_index.lines_for(session, private)
        return compact_body(shared.body + tail, private=True)

    def info(self, identity: Identity | None, name: str, io: bool = True) -> Representation:
        rep = self._gem_document(identity, name, documents.info_key(name), io)
        if rep is None:
            raise NotFound(messages.GEM_NOT_FOUND)
        return rep

    def names(self, identity: Identity | None, io: bool = True) -> Representation:
        shared = self._shared(documents.NAMES, io, lambda: b"---\n\n")
        private = self._private_names(identity, io)
        if not private:
            return shared
        visible = []
        for name in private:
            doc = self._document(documents.info_key(name), io)
            if doc is not None and versions_index.info_entries(doc.body):
                visible.append(name)
        if not visible:
            return shared
        public = [line for line in shared.body.decode().split("\n")[1:] if line]
        return compact_body(names_body(sorted(set(public) | set(visible))), private=True)

    # -- legacy indexes -------------------------------------------------------------------------

    def specs(self, identity: Identity | None, kind: str, io: bool = True) -> Representation:
        private = self._private_names(identity, io)
        if private:
            with self.registry.db.read() as session:
                body = legacy_specs.render_specs(session, kind, private)
            return Representation(compact_index.etag(body), documents.OCTET_STREAM, body, headers=(PRIVATE_CACHE,))
        doc = self._aggregate(documents.specs_key(kind), io)
        if doc is None:
            body = legacy_specs.empty_specs()
            return Representation(compact_index.etag(body), documents.OCTET_STREAM, body,
                                  headers=(PRIVATE_CACHE if self.registry.restricted() else PUBLIC_CACHE,))
        return self._representation(documents.specs_key(kind), doc)

    def quick_spec(self, identity: Identity | None, full_name: str, io: bool = True) -> Representation | None:
        return self._gem_document(identity, None, documents.quick_key(full_name), io)

    def gem_file(self, identity: Identity | None, full_name: str, io: bool = True) -> Representation | None:
        return self._gem_document(identity, None, documents.gem_key(full_name), io)



def gem_of_file(session, full_name: str) -> Package | None:
    """The gem a file belongs to, by its full name (or its gemspec's original-platform spelling)."""
    artifact = find_artifact(session, ECOSYSTEM, f"{full_name}.gem")
    if artifact is not None:
        return session.get(Package, artifact.package_id)
    parts = full_name.split("-")  # an original-platform spelling: the longest name that is a gem
    for end in range(len(parts) - 1, 0, -1):
        package = get_package(session, ECOSYSTEM, "-".join(parts[:end]))
        if package is not None:
            return package
    return None
