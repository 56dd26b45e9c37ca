"""Registration of the PyPI adapter (its endpoints are being built; see issue 3)."""

from __future__ import annotations

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from starlette.applications import Starlette

from packyard.plugins import ProtocolAdapter


class PypiAdapter(ProtocolAdapter):
    ecosystem = "pypi"
    scope_noun = "package"
    project_statuses = ("active", "archived", "quarantined", "deprecated")

    def normalize_name(self, name: str) -> str:
        return canonicalize_name(name)

    def version_sort_key(self, version: str):
        try:
            return (1, Version(version))
        except InvalidVersion:
            return (0, version)

    def create_app(self, registry):
        return Starlette()
