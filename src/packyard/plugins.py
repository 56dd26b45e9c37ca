"""The adapter contract and the loader that finds adapters through the `packyard.protocols` entry points.

The core knows adapters only through this interface; it never imports one by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar

from packyard.models import limits

if TYPE_CHECKING:
    import click
    from sqlmodel import Session
    from starlette.types import ASGIApp

    from packyard.http.hot_reads import HotReads
    from packyard.models import Artifact, ChangeAction, JournalEntry, Package, Version
    from packyard.registry import Registry

ENTRY_POINT_GROUP = "packyard.protocols"


@dataclass
class Change:
    """One change to a package, handed to its adapter inside the write transaction."""

    ecosystem: str
    action: ChangeAction
    package: Package
    version: Version | None
    artifacts: list[Artifact]
    journal: JournalEntry
    detail: dict[str, Any] = field(default_factory=dict)
    registry: Registry | None = field(default=None, repr=False)  # its `documents` store takes the rendered documents

    @property
    def serial(self) -> int:
        assert self.journal.id is not None
        return self.journal.id


@dataclass(frozen=True)
class InstallLine:
    """A command or configuration line the web interface offers to copy (`label`: the tool)."""

    label: str
    text: str


@dataclass(frozen=True)
class ReleaseDetails:
    """What a version's stored metadata says about it, for people (the web interface, the API)."""

    summary: str | None = None
    description: str | None = None
    description_content_type: str = "text/plain"  # text/markdown, text/x-rst or text/plain (with parameters)
    dependencies: tuple[str, ...] = ()  # runtime requirements as the ecosystem writes them


class ProtocolAdapter:
    """Base class of an ecosystem adapter; subclass it in `protocols/<ecosystem>/`."""

    ecosystem: ClassVar[str]
    scope_noun: ClassVar[str]
    project_statuses: ClassVar[tuple[str, ...]] = ()  # statuses the management API may set (PEP 792 for PyPI)
    # Bump when the documents the adapter renders change shape: `packyard serve` then calls
    # `render_all_documents` once before serving.
    documents_format: ClassVar[int] = 0
    # Longest name and version a publish may use; at most the columns' widths (checked at load).
    max_name_length: ClassVar[int] = limits.DEFAULT_MAX_NAME_LENGTH
    max_version_length: ClassVar[int] = limits.DEFAULT_MAX_VERSION_LENGTH
    # True: a new name that equals an existing one but for letter case is refused (RubyGems).
    names_differing_in_case_collide: ClassVar[bool] = False
    # Key prefixes of the public documents clients walk (index pages): each worker loads them into
    # its memo when it starts (`DocumentStore.load_hot`).
    hot_documents: ClassVar[tuple[str, ...]] = ()
    # Keys of the aggregates (`DocumentStore.refresh_later`) among them: their stale markers are
    # loaded too, so that a worker's first read of one needs no round trip to learn it is current.
    hot_aggregates: ClassVar[tuple[str, ...]] = ()

    def normalize_name(self, name: str) -> str:
        raise NotImplementedError

    def version_sort_key(self, version: str) -> Any:
        """Orders versions the ecosystem's way (PEP 440, Gem::Version)."""
        raise NotImplementedError

    def create_app(self, registry: Registry) -> ASGIApp:
        """The adapter's wire protocol, mounted at `/<ecosystem>`."""
        raise NotImplementedError

    def hot_reads(self, app: ASGIApp) -> HotReads | None:
        """What the server may answer from memory without running `app` (the app `create_app` made):
        see `packyard/http/hot_reads.py`. None: every request goes through `app`."""
        return None

    def on_change(self, session: Session, change: Change) -> None:
        """Called inside the serialized write transaction after every change; keep derived data in step here."""

    def render_all_documents(self, registry: Registry) -> None:
        """Render every document of the ecosystem from the rows (an upgrade, or `rebuild-index`)."""

    def check_documents(self, session: Session, registry: Registry) -> Iterable[str]:
        """For `packyard check`: yield a sentence for every stored document that differs from a
        fresh render of the rows (or is missing). An adapter that stores no documents yields nothing."""
        return ()

    def install_lines(self, base_url: str, name: str) -> list[InstallLine]:
        """How to install `name` from this registry (`base_url`: the server's, without a slash at the end)."""
        return []

    def release_details(self, version: Version, artifacts: list[Artifact]) -> ReleaseDetails:
        """Summary, description and dependencies from a version's stored metadata (no extra query:
        `artifacts` are the version's files)."""
        return ReleaseDetails()

    def cli(self) -> click.Group | None:
        """Extra CLI commands, mounted as `packyard <ecosystem> ...`; `ctx.obj.registry()` gives them the Registry."""
        return None


def load_adapters() -> dict[str, ProtocolAdapter]:
    adapters: dict[str, ProtocolAdapter] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        cls = entry.load()
        if not (isinstance(cls, type) and issubclass(cls, ProtocolAdapter)):
            raise TypeError(f"entry point {entry.name} = {entry.value} is not a ProtocolAdapter subclass")
        adapter = cls()
        if adapter.ecosystem != entry.name:
            raise TypeError(f"entry point {entry.name} loads an adapter for {adapter.ecosystem!r}")
        if adapter.max_name_length > limits.NAME_COLUMN_LENGTH or adapter.max_version_length > limits.VERSION_COLUMN_LENGTH:
            raise TypeError(f"adapter {entry.name} allows names or versions longer than the database columns")
        adapters[adapter.ecosystem] = adapter
    return dict(sorted(adapters.items()))
