"""Registration of the RubyGems adapter (its endpoints are being built; see issue 4)."""

from __future__ import annotations

from starlette.applications import Starlette

from packyard.plugins import ProtocolAdapter


class RubygemsAdapter(ProtocolAdapter):
    ecosystem = "rubygems"
    scope_noun = "gem"

    def normalize_name(self, name: str) -> str:
        return name

    def version_sort_key(self, version: str):
        return version

    def create_app(self, registry):
        return Starlette()
