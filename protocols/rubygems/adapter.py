"""The RubyGems adapter: `gem` and `bundler` speak to packyard through the source root `/rubygems/`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packyard.plugins import Change, InstallLine, ProtocolAdapter, ReleaseDetails

from packyard_rubygems.formats import gem_version

if TYPE_CHECKING:
    from collections.abc import Iterator

    import click
    from sqlmodel import Session

    from packyard.models import Artifact, Version
    from packyard.registry import Registry
    from packyard.http.hot_reads import HotReads
    from packyard_rubygems.read_paths import ReadPaths


class RubygemsAdapter(ProtocolAdapter):
    ecosystem = "rubygems"
    scope_noun = "gem"
    documents_format = 1
    hot_documents = ("versions", "info/")  # the compact index bundler walks

    # rubygems.org: a gem name is unique case-insensitively (`Foo_Bar` next to `foo_bar` is refused).
    names_differing_in_case_collide = True

    def normalize_name(self, name: str) -> str:
        """Gem names are case-sensitive and used as given (`Rack` and `rack` are different gems)."""
        return name

    def version_sort_key(self, version: str) -> Any:
        return gem_version.sort_key(version)

    def install_lines(self, base_url: str, name: str) -> list[InstallLine]:
        source = f"{base_url}/rubygems/"
        return [InstallLine("gem", f"gem install {name} --source {source}"), InstallLine("Gemfile", f'source "{source}"\ngem "{name}"')]

    def release_details(self, version: Version, artifacts: list[Artifact]) -> ReleaseDetails:
        """From the gemspec kept on each file (`Artifact.meta`); the platforms of a version share it."""
        meta = artifacts[0].meta if artifacts else {}
        return ReleaseDetails(
            summary=meta.get("summary"),
            description=meta.get("description"),
            description_content_type="text/plain",  # a gemspec's description is plain text
            dependencies=tuple(f"{dep} {requirement}" for dep, requirement in meta.get("runtime_dependencies") or ()),
        )

    def create_app(self, registry: Registry):
        from packyard_rubygems.source_app import build_app

        return build_app(registry)

    def hot_reads(self, app: ReadPaths) -> HotReads | None:
        return app.hot_reads()

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
