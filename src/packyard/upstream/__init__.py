"""The upstream proxy toolkit every adapter shares (see docs/architecture.md, "Upstream proxy").

`registry.upstream(ecosystem)` is an `Upstream` when `PACKYARD_<ECOSYSTEM>_UPSTREAM` is set, else
None (the default: offline). It bundles the HTTP client, the page cache, verified file fetches and
the dependency-confusion gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packyard.upstream.client import UpstreamClient, UpstreamUnavailable, redacted
from packyard.upstream.files import Download, ProxiedFile, UpstreamFileMismatch, UpstreamFiles
from packyard.upstream.gate import UpstreamGate
from packyard.upstream.pages import CachedPage, UpstreamPages
from packyard.upstream.serving import serve_proxied_file
from packyard.upstream.warm import WarmReads

if TYPE_CHECKING:
    from packyard.registry import Registry

__all__ = [
    "CachedPage", "Download", "ProxiedFile", "Upstream", "UpstreamClient", "UpstreamFileMismatch", "UpstreamFiles",
    "UpstreamGate", "UpstreamPages", "UpstreamUnavailable", "WarmReads", "redacted", "serve_proxied_file",
]


class Upstream:
    """One ecosystem's upstream: `client` (httpx), `pages` (cached documents), `files` (verified
    fetches, recorded), `gate` (may a name resolve upstream?), `warm` (answers re-used while
    nothing changed)."""

    def __init__(self, registry: Registry, ecosystem: str, url: str):
        settings = registry.settings
        self.ecosystem = ecosystem
        self.client = UpstreamClient(url, settings.upstream_timeout)
        self.pages = UpstreamPages(registry.db, ecosystem, self.client, settings.upstream_cache_seconds)
        self.files = UpstreamFiles(registry, ecosystem, self.client)
        self.gate = UpstreamGate(registry, ecosystem)
        self.warm = WarmReads(registry, ecosystem, self.pages.lifetime)

    @property
    def url(self) -> str:
        """The upstream's base URL, without credentials (for messages and docs)."""
        return self.client.base_url
