"""From stored Artifact rows to compact index text (the byte formats live in `compact_index`)."""

from __future__ import annotations

from packyard.models import Artifact

from packyard_rubygems.index import compact_index
from packyard_rubygems.index.compact_index import names_body

__all__ = ["info_body", "info_entry", "names_body", "number_and_platform"]


def _platform(artifact: Artifact) -> str:
    return (artifact.meta or {}).get("platform") or artifact.platform or "ruby"


def number_and_platform(artifact: Artifact) -> str:
    return compact_index.number_and_platform((artifact.meta or {}).get("version"), _platform(artifact))


def info_entry(artifact: Artifact) -> compact_index.InfoEntry:
    meta = artifact.meta or {}
    return compact_index.InfoEntry(
        version=meta.get("version"),
        checksum=artifact.sha256,
        platform=_platform(artifact),
        dependencies=tuple((name, req) for name, req in meta.get("runtime_dependencies") or []),
        required_ruby_version=meta.get("required_ruby_version"),
        required_rubygems_version=meta.get("required_rubygems_version"),
    )


def info_body(indexed: list[Artifact]) -> bytes:
    """`/info/<gem>` for the gem's indexed files, in push order."""
    return compact_index.info_body(info_entry(a) for a in indexed)
