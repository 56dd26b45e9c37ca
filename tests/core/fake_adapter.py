"""A minimal in-test ecosystem, so core tests don't depend on a real adapter's rules."""

from __future__ import annotations

from starlette.applications import Starlette

from packyard.plugins import Change, ProtocolAdapter


class FakeAdapter(ProtocolAdapter):
    ecosystem = "fake"
    scope_noun = "thing"
    project_statuses = ("active", "archived")

    def __init__(self) -> None:
        self.changes: list[tuple[str, str, int]] = []

    def normalize_name(self, name: str) -> str:
        return name.lower().replace("_", "-")

    def version_sort_key(self, version: str):
        return tuple(int(p) for p in version.split("."))

    def create_app(self, registry):
        return Starlette()

    def on_change(self, session, change: Change) -> None:
        self.changes.append((change.action, change.package.normalized_name, change.serial))
