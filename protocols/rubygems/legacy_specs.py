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

from sqlmodel import Session, col, select

from packyard.models import Artifact, Package, Version

from . import documents, legacy_index
from .compact_index_lines import names_body
from .gem_package import GemSpec, full_name
from .legacy_index import SpecsEntry

ECOSYSTEM = documents.ECOSYSTEM
QUICK_META = "quick_gemspec_rz"  # base64 of the deflated Marshal gemspec, in Artifact.meta


def indexed_entries(session: Session, *, private_names: set[str] | None = None) -> list[SpecsEntry]:
    """Every indexed (not yanked) file of every public gem, plus the given private gems."""
    query = (
        select(Package.name, Version.version, Artifact.platform, Package.visibility)
        .join(Artifact, Artifact.package_id == Package.id)
        .join(Version, Version.id == Artifact.version_id)
        .where(Package.ecosystem == ECOSYSTEM, col(Artifact.yanked).is_(False))
    )
    entries = []
    for name, number, platform, visibility in session.exec(query):
        if visibility == "private" and not (private_names and name in private_names):
            continue
        entries.append(SpecsEntry(name, number, platform or "ruby"))
    return entries


RENDERERS = {
    "specs": legacy_index.specs_gz,
    "latest_specs": legacy_index.latest_specs_gz,
    "prerelease_specs": legacy_index.prerelease_specs_gz,
}


def store_public_indexes(session: Session, now: datetime, kinds: set[str], names: bool) -> None:
    """Re-render the given specs files and, with `names`, `/names` (all from the public indexed gems)."""
    if not kinds and not names:
        return
    entries = indexed_entries(session)
    for kind in sorted(kinds):
        documents.put(session, documents.specs_key(kind), RENDERERS[kind](entries), now)
    if names:
        documents.put(session, documents.NAMES, names_body(sorted({entry.name for entry in entries})), now)


def render_specs(session: Session, kind: str, include_private: set[str]) -> bytes:
    """A specs index for a reader of private gems (built per request: O(gems))."""
    return RENDERERS[kind](indexed_entries(session, private_names=include_private))


def empty_specs() -> bytes:
    return legacy_index.specs_gz([])


def quick_spec_meta(spec: GemSpec) -> dict[str, str]:
    """Rendered at push time, while the full YAML spec is at hand; kept on the Artifact row."""
    return {QUICK_META: base64.b64encode(legacy_index.quick_gemspec_rz(spec)).decode("ascii")}


def quick_spec_bytes(artifact: Artifact) -> bytes | None:
    encoded = (artifact.meta or {}).get(QUICK_META)
    return base64.b64decode(encoded) if encoded else None


def store_quick_alias(session: Session, artifact: Artifact, now: datetime) -> None:
    """Old gems spell their platform differently in the gemspec; gem asks for that spelling."""
    meta = artifact.meta or {}
    original = full_name(meta.get("name", ""), meta.get("version", ""), meta.get("original_platform"))
    if f"{original}.gem" != artifact.filename:
        documents.put(session, documents.quick_alias_key(original), artifact.filename.encode(), now)
