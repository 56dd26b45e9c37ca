"""The ASGI app mounted at `/rubygems`: hot read paths first, then the gem API (and test hooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette

from packyard_rubygems import test_hooks
from packyard_rubygems.api.routes import GemApi, plain_text_errors
from packyard_rubygems.index.reader import IndexReader
from packyard_rubygems.read_paths import ReadPaths
from packyard_rubygems.upstream.proxy import UpstreamGems

if TYPE_CHECKING:
    from packyard.registry import Registry


def build_app(registry: Registry) -> ReadPaths:
    routes = GemApi(registry).routes()
    if registry.settings.test_hooks:
        routes += test_hooks.routes(registry)
    api = Starlette(routes=routes)
    plain_text_errors(api)
    upstream = registry.upstream("rubygems")
    return ReadPaths(IndexReader(registry), api, UpstreamGems(registry, upstream) if upstream is not None else None)
