"""`packyard rubygems ...` commands."""

from __future__ import annotations

import click


@click.group(name="rubygems")
def rubygems() -> None:
    """RubyGems source maintenance."""


@rubygems.command("rebuild-index")
def rebuild_index() -> None:
    """Rewrite /versions compactly (yanked versions dropped, a new created_at), as rubygems.org does monthly.

    Clients holding the old body notice the change and fetch the new one in full.
    """
    from packyard_rubygems.index.writer import rebuild_versions

    registry = click.get_current_context().obj.registry()
    body = rebuild_versions(registry)
    gems = body.count(b"\n") - 2
    click.echo(f"Rebuilt /versions: {gems} gem(s), {len(body)} bytes.")
