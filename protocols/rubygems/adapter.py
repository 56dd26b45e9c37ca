"""The RubyGems adapter: `gem` and `bundler` speak to packyard through the source root `/rubygems/`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packyard.plugins import Change, ProtocolAdapter

from packyard_rubygems.formats import gem_version

if TYPE_CHECKING:
    from collections.abc import Iterator

    import click
    from sqlmodel import Session

    from packyard.registry import Registry


class RubygemsAdapter(ProtocolAdapter):
    ecosystem = "rubygems"
    scope_noun = "gem"
    documents_format = 1

    # rubygems.org: a gem name is unique case-insensitively (`Foo_Bar` next to `foo_bar` is refused).
    names_differing_in_case_collide = True

    def normalize_name(self, name: str) -> str:
        """Gem names are case-sensitive and used as given (`Rack` and `rack` are different gems)."""
        return name

    def version_sort_key(self, version: str) -> Any:
        return gem_version.sort_key(version)

    def create_app(self, registry: Registry):
        from packyard_rubygems.source_app import build_app

        return build_app(registry)

    def on_change(self, session: Session, change: Change) -> None:
        from packyard_rubygems.index.writer import apply_change

        apply_change(session, change)

    def render_all_documents(self, registry: Registry) -> None:
        from packyard_rubygems.index.writer import render_all

        render_all(registry)

    def check_documents(self, session: Session, registry: Registry) -> Iterator[str]:
        from packyard_rubygems.index.check import check_documents

        return check_documents(session)

    def cli(self) -> click.Group:
        from packyard_rubygems.cli import rubygems

        return rubygems
