"""The public listings kept as stored documents: `/names` and the Marshal indexes that
`gem install`, `gem list -r` and `gem fetch` read.

`specs.4.8.gz`, `latest_specs.4.8.gz` and `prerelease_specs.4.8.gz` are re-rendered by the changes
that can alter them (write time, inside the change's transaction; reads only fetch the stored
bytes). Quick gemspecs are rendered once, when the gem is pushed, and kept on the Artifact row.
The byte formats live in `legacy_index`.
"""

from __future__ import annotations

import base64
from datetime import datetime

from sqlmodel import Session

from packyard.documents.store import DocumentStore
from packyard.models import Artifact
from packyard.services.packages import indexed_files

from . import documents, legacy_index
from .compact_index_lines import names_body
from .gem_package import GemSpec, full_name
from .legacy_index import SpecsEntry

ECOSYSTEM = documents.ECOSYSTEM
QUICK_META = "quick_gemspec_rz"  # base64 of the deflated Marshal gemspec, in Artifact.meta


def indexed_entries(session: Session, private: list[str] | None = None) -> list[SpecsEntry]:
    """Every indexed (not yanked) file of every public gem, plus the given private gems."""
    return [SpecsEntry(name, number, platform or "ruby") for name, number, platform in indexed_files(session, ECOSYSTEM, private)]


RENDERERS = {
    "specs": legacy_index.specs_gz,
    "latest_specs": legacy_index.latest_specs_gz,
    "prerelease_specs": legacy_index.prerelease_specs_gz,
}


def store_public_indexes(store: DocumentStore, session: Session, serial: int, now: datetime, kinds: set[str], names: bool) -> None:
    """Re-render the given specs files and, with `names`, `/names` (all from the public indexed gems)."""
    if not kinds and not names:
        return
    entries = indexed_entries(session)
    for kind in sorted(kinds):
        documents.put_binary(store, session, documents.specs_key(kind), RENDERERS[kind](entries), serial=serial, now=now)
    if names:
        documents.put_compact_index(store, session, documents.NAMES, names_body(sorted({entry.name for entry in entries})), serial=serial, now=now)


def render_specs(session: Session, kind: str, include_private: list[str]) -> bytes:
    """A specs index for a reader of private gems (built per request: O(gems))."""
    return RENDERERS[kind](indexed_entries(session, include_private))


def empty_specs() -> bytes:
    return legacy_index.specs_gz([])


def quick_spec_meta(spec: GemSpec) -> dict[str, str]:
    """Rendered at push time, while the full YAML spec is at hand; kept on the Artifact row."""
    return {QUICK_META: base64.b64encode(legacy_index.quick_gemspec_rz(spec)).decode("ascii")}


def quick_spec_bytes(artifact: Artifact) -> bytes | None:
    encoded = (artifact.meta or {}).get(QUICK_META)
    return base64.b64decode(encoded) if encoded else None


def quick_names(artifact: Artifact) -> list[str]:
    """The names gem asks a file's quick gemspec by: its full name, and for old gems the spelling
    of the gemspec's original platform."""
    meta = artifact.meta or {}
    own = artifact.filename[: -len(".gem")]
    original = full_name(meta.get("name", ""), meta.get("version", ""), meta.get("original_platform"))
    return [own] if original == own else [own, original]
