"""The PyPI adapter's registration with the core (entry point ``packyard.protocols: pypi``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from packyard.plugins import Change, InstallLine, ProtocolAdapter, ReleaseDetails

from packyard_pypi.documents import ROOT_LISTINGS
from packyard_pypi.simple.page_data import PROJECT_STATUSES

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlmodel import Session

    from packyard.models import Artifact, Version as VersionRow
    from packyard.registry import Registry
    from packyard.http.hot_reads import HotReads
    from packyard_pypi.routing import PypiApp


class PypiAdapter(ProtocolAdapter):
    ecosystem = "pypi"
    scope_noun = "package"
    project_statuses = PROJECT_STATUSES
    hot_documents = ("simple/",)  # the project pages, HTML and JSON
    hot_aggregates = tuple(key for key, _ in ROOT_LISTINGS)  # the root listings, in both encodings
    documents_format = 4  # 2: the simple pages' ETags are static_etag (nginx's own form); 3: release JSON's last_serial filled on read; 4: gzip variants of the simple pages

    def normalize_name(self, name: str) -> str:
        return canonicalize_name(name)

    def version_sort_key(self, version: str) -> Any:
        """PEP 440 order; a string that is not PEP 440 (never stored by uploads) sorts first."""
        try:
            return (1, Version(version))
        except InvalidVersion:
            return (0, version)

    def install_lines(self, base_url: str, name: str) -> list[InstallLine]:
        index = f"{base_url}/pypi/simple/"
        return [InstallLine("pip", f"pip install --index-url {index} {name}"), InstallLine("uv", f"uv add --index {index} {name}")]

    def release_details(self, version: VersionRow, artifacts: list[Artifact]) -> ReleaseDetails:
        """From the core metadata kept at upload (`Version.meta["metadata"]`, packaging's raw field names)."""
        meta = version.meta.get("metadata") or {}
        return ReleaseDetails(
            summary=meta.get("summary"),
            description=meta.get("description"),
            description_content_type=meta.get("description_content_type") or "text/x-rst",  # PEP 566's default
            dependencies=tuple(meta.get("requires_dist") or ()),
        )

    def on_change(self, session: Session, change: Change) -> None:
        from packyard_pypi.documents import mark_root_stale, render_package

        assert change.registry is not None
        render_package(change.registry, session, change.package, change.serial, change.journal.at)
        mark_root_stale(change.registry, session, change.serial, change.journal.at)

    def check_documents(self, session: Session, registry: Registry) -> Iterator[str]:
        from packyard_pypi.documents import check_documents

        return check_documents(registry, session)

    def render_all_documents(self, registry: Registry) -> None:
        from packyard_pypi.documents import render_all

        render_all(registry)

    def create_app(self, registry: Registry):
        from packyard_pypi.routing import PypiApp

        return PypiApp(registry)

    def hot_reads(self, app: PypiApp) -> HotReads | None:
        return app.hot_reads()
