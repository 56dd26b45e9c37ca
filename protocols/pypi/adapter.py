"""The PyPI adapter's registration with the core (entry point ``packyard.protocols: pypi``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from packyard.plugins import ProtocolAdapter

from .simple_pages import PROJECT_STATUSES

if TYPE_CHECKING:
    from packyard.registry import Registry


class PypiAdapter(ProtocolAdapter):
    ecosystem = "pypi"
    scope_noun = "package"
    project_statuses = PROJECT_STATUSES

    def normalize_name(self, name: str) -> str:
        return canonicalize_name(name)

    def version_sort_key(self, version: str) -> Any:
        """PEP 440 order; a string that is not PEP 440 (never stored by uploads) sorts first."""
        try:
            return (1, Version(version))
        except InvalidVersion:
            return (0, version)

    def create_app(self, registry: Registry):
        from .routing import PypiApp

        return PypiApp(registry)
