"""What the read paths ask upstream for a gem packyard does not have: `/info/<gem>` and quick
gemspecs (upstream's bytes exactly, through the core's page cache: revalidated after the cache
lifetime, served stale while upstream is away), and `.gem` files (fetched once, verified against
the `checksum:` of upstream's `/info` line, then kept and served like a pushed gem).

Only names the core's gate lets through are ever sent upstream: not a local gem in any visibility
(compared case-insensitively) and not reserved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio.to_thread

from packyard.auth import Identity
from packyard.http.serve import Representation
from packyard.models import ChangeAction
from packyard.services.journal import record_ecosystem_event
from packyard.upstream import ProxiedFile, serve_proxied_file

from packyard_rubygems.index import compact_index, documents, legacy_specs
from packyard_rubygems.index.reader import PRIVATE_CACHE, PUBLIC_CACHE, compact_body
from packyard_rubygems.upstream import info_lines, local_names
from packyard_rubygems.upstream.fetched import upstream_etag
from packyard_rubygems.upstream.info_lines import UpstreamRelease
from packyard_rubygems.upstream.versions_sync import VersionsSync

if TYPE_CHECKING:
    from packyard.registry import Registry
    from packyard.upstream import Upstream

ECOSYSTEM = documents.ECOSYSTEM


class UpstreamGems:
    def __init__(self, registry: Registry, upstream: Upstream):
        self.registry = registry
        self.upstream = upstream
        self.versions = VersionsSync(registry, upstream.client, self.url("versions"), registry.settings.upstream_cache_seconds)

    def url(self, path: str) -> str:
        """A gem source's path (`versions`, `info/rack`) below the upstream's base URL."""
        return self.upstream.client.url(path)

    async def _page(self, name: str, key: str, path: str, media_type: str) -> Representation | None:
        """Upstream's document at `path`, as it is, when `name` may resolve upstream."""
        serial = self.registry.serial(ECOSYSTEM)  # before the gate: a later local change moves it
        if not await self.upstream.gate.allows(name):
            return None
        page = await self.upstream.pages.get(key, self.url(path))
        if page is None:
            return None
        private = self.registry.restricted()
        rep = page.render("representation", lambda body: _representation(body, media_type, private))
        self.upstream.warm.put(key, serial, page, rep)
        return rep

    def warm(self, key: str) -> Representation | None:
        """A public page served before, while nothing changed here since (the serial has not moved,
        so no local gem took the name) and younger than the cache lifetime: the read paths answer
        it before looking for a local document (which they know is absent). See `Upstream.warm`."""
        return self.upstream.warm.get(key)

    async def info(self, identity: Identity | None, name: str) -> Representation | None:
        self.registry.document_access(identity, ECOSYSTEM, name, public=True)
        return await self._page(name, documents.info_key(name), f"info/{name}", documents.COMPACT_INDEX_TYPE)

    async def quick_spec(self, identity: Identity | None, full_name: str) -> Representation | None:
        release = await self.release(full_name)
        if release is None:
            return None
        self.registry.document_access(identity, ECOSYSTEM, release.name, public=True)
        key = documents.quick_key(full_name)
        return await self._page(release.name, key, key, documents.OCTET_STREAM)

    async def release(self, full_name: str) -> UpstreamRelease | None:
        """The upstream release a file name stands for, with the checksum upstream announced."""
        for name in info_lines.candidate_names(full_name):
            if not await self.upstream.gate.allows(name):
                continue
            page = await self.upstream.pages.get(documents.info_key(name), self.url(f"info/{name}"))
            if page is None:
                continue
            release = info_lines.find_release(name, page.body, full_name[len(name) + 1:])
            if release is not None:
                return release
        return None

    async def gem(self, identity: Identity | None, full_name: str) -> ProxiedFile | None:
        """The upstream `.gem` to serve (`serve_gem`), with the sha256 upstream's `/info` announced."""
        release = await self.release(full_name)
        if release is None:
            return None
        self.registry.document_access(identity, ECOSYSTEM, release.name, public=True)
        return ProxiedFile(package=release.name, filename=f"{full_name}.gem", url=self.url(f"gems/{full_name}.gem"),
                           sha256=release.sha256, version=release.entry)

    async def serve_gem(self, scope, send, wanted: ProxiedFile) -> None:
        """The first download streamed as it is verified (or the kept blob); once kept, the file is
        served from then on like a pushed gem (`kept`)."""
        await serve_proxied_file(scope, send, self.upstream.files, wanted, documents.OCTET_STREAM, (PUBLIC_CACHE,))
        if await self.upstream.files.local_size(wanted.sha256) is not None:
            await anyio.to_thread.run_sync(self.kept, UpstreamRelease(wanted.package, wanted.version or "", wanted.sha256))

    def kept(self, release: UpstreamRelease) -> None:
        """Serve a verified upstream `.gem` from now on like a pushed one (a blob document), and list
        it in the specs files; not when its name resolves locally by now."""
        key = documents.gem_key(release.full_name)
        store = self.registry.documents
        stat = self.registry.storage.stat(release.sha256)  # outside the write lock: S3 answers a HEAD
        if stat is None:
            return
        with self.registry.db.write(lock=ECOSYSTEM) as session:
            existing = store.read_in(session, ECOSYSTEM, key)
            if (existing is not None and existing.kind == "blob") or local_names.is_local(session, release.name):
                return
            now = self.registry.clock.now()
            serial = record_ecosystem_event(self.registry, session, ECOSYSTEM, ChangeAction.REINDEX)
            store.put_blob(session, ECOSYSTEM, key, release.sha256, stat.size, serial=serial, now=now,
                           etag=upstream_etag(release.sha256), media_type=documents.OCTET_STREAM, public=True)
            legacy_specs.refresh_public_indexes(store, session, legacy_specs.kinds_for([release.version]), False, serial=serial, now=now)
        self.registry.publish_serial(ECOSYSTEM, serial)


def _representation(body: bytes, media_type: str, private: bool) -> Representation:
    if media_type == documents.COMPACT_INDEX_TYPE:
        return compact_body(body, private=private)
    return Representation(compact_index.etag(body), media_type, body, headers=(PRIVATE_CACHE if private else PUBLIC_CACHE,))
