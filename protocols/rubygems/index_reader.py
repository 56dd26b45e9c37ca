"""Find the bytes for each read path and check access.

Each lookup first runs on the event loop with `io=False`: a memo hit answers without any database
access; otherwise it raises NeedsIO and the caller repeats it in a worker thread with `io=True`.

Every lookup is O(1) in the size of the registry: on the common path a serial check plus a memo
hit (no database at all); after a change, one indexed read per path. Only readers of private gems get bodies built
per request, and those cost O(their private gems).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session

from packyard.auth import Identity
from packyard.errors import NotFound
from packyard.models import Artifact, Package
from packyard.services.packages import find_artifact, get_package

from . import documents, legacy_specs, messages, versions_index
from .compact_index_lines import names_body
from .memo import Memo
from .serving import PRIVATE_CACHE, PUBLIC_CACHE, FileRepresentation, Representation

if TYPE_CHECKING:
    from packyard.registry import Registry

ECOSYSTEM = documents.ECOSYSTEM


class NeedsIO(Exception):
    """The answer is not in the memo: look again from a worker thread, with database access."""


@dataclass
class GemFile:
    artifact: Artifact
    package: Package


class IndexReader:
    def __init__(self, registry: Registry):
        self.registry = registry
        self.memo: Memo[object] = Memo()

    # -- access ---------------------------------------------------------------------------------

    def identify(self, authorization: str | None) -> Identity | None:
        identity = self.registry.authenticate(authorization) if authorization else None
        self.registry.read_access(identity, ECOSYSTEM, None)  # PACKYARD_PRIVATE: anonymous -> 401
        return identity

    @contextmanager
    def _db(self, io: bool, write: bool = False) -> Iterator[Session]:
        """A database session, or NeedsIO when the caller runs on the event loop (memo hits only)."""
        if not io:
            raise NeedsIO()
        with (self.registry.db.write(lock=ECOSYSTEM) if write else self.registry.db.read()) as session:
            yield session

    def _restricted(self, package: Package | None = None) -> bool:
        """Bodies only some callers may read must not be kept by shared caches."""
        return self.registry.settings.private or (package is not None and package.is_private)

    def _private_names(self, identity: Identity | None, io: bool) -> list[str]:
        if identity is None:
            return []
        with self._db(io) as session:
            names = versions_index.readable_private_names(session, identity)
        return [n for n in names if identity.allows(ECOSYSTEM, n, "read")]

    # -- compact index --------------------------------------------------------------------------

    def versions(self, identity: Identity | None, io: bool = True) -> Representation:
        serial = self.registry.serial(ECOSYSTEM)
        shared = self.memo.get("versions", serial)
        if shared is None:
            with self._db(io) as session:
                body = versions_index.shared_body(session)
            if body is None:
                with self._db(io, write=True) as session:
                    versions_index.ensure_base(session, self.registry.clock.now())
                    body = versions_index.shared_body(session)
            shared = self.memo.put("versions", serial, Representation.compact_index(body, private=self._restricted()))
        private = self._private_names(identity, io)
        if not private:
            return shared
        key = ("versions", identity.token.id if identity.token else identity.user.id)
        stamp = (serial, tuple(private))
        rep = self.memo.get(key, stamp)
        if rep is None:
            with self._db(io) as session:
                tail = versions_index.private_lines(session, private)
            rep = self.memo.put(key, stamp, Representation.compact_index(shared.body + tail, private=True))
        return rep

    def info(self, identity: Identity | None, name: str, io: bool = True) -> Representation:
        serial = self.registry.serial(ECOSYSTEM)
        found = self.memo.get(("info", name), serial)
        if found is None:
            with self._db(io) as session:
                package = get_package(session, ECOSYSTEM, name)
                body = documents.get(session, documents.info_key(name)) if package is not None else None
            rep = None if body is None else Representation.compact_index(body, private=self._restricted(package))
            found = self.memo.put(("info", name), serial, (package, rep))
        package, rep = found
        if package is None or rep is None:
            raise NotFound(messages.GEM_NOT_FOUND)
        self.registry.read_access(identity, ECOSYSTEM, package)
        return rep

    def names(self, identity: Identity | None, io: bool = True) -> Representation:
        serial = self.registry.serial(ECOSYSTEM)
        shared = self.memo.get("names", serial)
        if shared is None:
            with self._db(io) as session:
                body = documents.get(session, documents.NAMES) or b"---\n\n"
            shared = self.memo.put("names", serial, Representation.compact_index(body, private=self._restricted()))
        private = self._private_names(identity, io)
        if not private:
            return shared
        with self._db(io) as session:
            infos = documents.get_many(session, [documents.info_key(n) for n in private])
        visible = [n for n in private if versions_index.info_entries(infos.get(documents.info_key(n), b""))]
        if not visible:
            return shared
        public = [line for line in shared.body.decode().split("\n")[1:] if line]
        return Representation.compact_index(names_body(sorted(set(public) | set(visible))), private=True)

    # -- legacy indexes -------------------------------------------------------------------------

    def specs(self, identity: Identity | None, kind: str, io: bool = True) -> Representation:
        serial = self.registry.serial(ECOSYSTEM)
        private = self._private_names(identity, io)
        if private:
            with self._db(io) as session:
                body = legacy_specs.render_specs(session, kind, include_private=set(private))
            return Representation.binary(body, private=True)
        rep = self.memo.get(("specs", kind), serial)
        if rep is None:
            with self._db(io) as session:
                body = documents.get(session, documents.specs_key(kind))
            if body is None:
                body = legacy_specs.empty_specs()
            rep = self.memo.put(("specs", kind), serial, Representation.binary(body, private=self._restricted()))
        return rep

    def _indexed_file(self, identity: Identity | None, filename: str, io: bool) -> GemFile | None:
        serial = self.registry.serial(ECOSYSTEM)
        found = self.memo.get(("file", filename), serial)
        if found is None:
            with self._db(io) as session:
                artifact = find_artifact(session, ECOSYSTEM, filename)
                package = session.get(Package, artifact.package_id) if artifact is not None else None
            indexed = artifact is not None and package is not None and not artifact.yanked
            found = self.memo.put(("file", filename), serial, (GemFile(artifact, package) if indexed else False,))
        gem_file = found[0]
        if not gem_file:
            return None
        self.registry.read_access(identity, ECOSYSTEM, gem_file.package)
        return gem_file

    def quick_spec(self, identity: Identity | None, original_name: str, io: bool = True) -> Representation | None:
        found = self._indexed_file(identity, f"{original_name}.gem", io)
        if found is None:
            found = self._quick_by_original_name(identity, original_name, io)
        if found is None:
            return None
        body = legacy_specs.quick_spec_bytes(found.artifact)
        if body is None:
            return None
        return Representation.binary(body, private=self._restricted(found.package))

    def _quick_by_original_name(self, identity: Identity | None, original_name: str, io: bool) -> GemFile | None:
        """Old gems name their platform differently in the gemspec (`original_platform`)."""
        with self._db(io) as session:
            filename = documents.get(session, documents.quick_alias_key(original_name))
        if filename is None:
            return None
        return self._indexed_file(identity, filename.decode(), io)

    def gem_file(self, identity: Identity | None, full_name: str, io: bool = True) -> FileRepresentation | None:
        found = self._indexed_file(identity, f"{full_name}.gem", io)
        if found is None:
            return None
        storage = self.registry.storage
        sha = found.artifact.blob_sha256
        return FileRepresentation(
            open=lambda: storage.open(sha),
            size=found.artifact.size,
            etag=f'"{found.artifact.md5}"',
            cache_control=PRIVATE_CACHE if self._restricted(found.package) else PUBLIC_CACHE,
        )
