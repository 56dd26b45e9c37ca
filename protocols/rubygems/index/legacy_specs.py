"""The public listings kept as stored documents: `/names` and the Marshal indexes that
`gem install`, `gem list -r` and `gem fetch` read.

`specs.4.8.gz`, `latest_specs.4.8.gz` and `prerelease_specs.4.8.gz` (and `/names`) are re-rendered
after the changes that can alter them, by a background thread, since each costs O(gems): the
change only marks them stale (`DocumentStore.refresh_later`), and a reader that finds one stale
renders it before answering (`DocumentStore.get_aggregate`), so a push is listed as soon as it is
acknowledged, and a push never waits for a render. Quick gemspecs are rendered once, when the gem is pushed, and kept on the Artifact row.
The byte formats live in `legacy_index`.
"""

from __future__ import annotations

import base64
from datetime import datetime

from sqlmodel import Session

from packyard.documents.store import DocumentStore
from packyard.models import Artifact
from packyard.services.packages import indexed_files

from packyard_rubygems.index import compact_index, documents, legacy_index
from packyard_rubygems.index.compact_index_lines import names_body
from packyard_rubygems.formats.gem_package import GemSpec, full_name
from packyard_rubygems.index.legacy_index import SpecsEntry
from packyard_rubygems.formats.gem_version import GemVersion
from packyard_rubygems.upstream.fetched import fetched_upstream_entries

ECOSYSTEM = documents.ECOSYSTEM
QUICK_META = "quick_gemspec_rz"  # base64 of the deflated Marshal gemspec, in Artifact.meta


def local_entries(session: Session, private: list[str] | None = None) -> list[SpecsEntry]:
    """Every indexed (not yanked) file of every public gem, plus the given private gems."""
    return [SpecsEntry(name, number, platform or "ruby") for name, number, platform in indexed_files(session, ECOSYSTEM, private)]


def indexed_entries(session: Session, private: list[str] | None = None) -> list[SpecsEntry]:
    """What the specs files list: the local entries plus the upstream gems fetched so far (`gem
    install` finds the others through `/info`)."""
    return local_entries(session, private) + fetched_upstream_entries(session)


def kinds_for(versions: list[str]) -> set[str]:
    """The specs files that list releases of these versions."""
    prerelease = {GemVersion(version).is_prerelease for version in versions}
    return ({"prerelease_specs"} if True in prerelease else set()) | ({"specs", "latest_specs"} if False in prerelease else set())


RENDERERS = {
    "specs": legacy_index.specs_gz,
    "latest_specs": legacy_index.latest_specs_gz,
    "prerelease_specs": legacy_index.prerelease_specs_gz,
}


def _specs_file(kind: str):
    def render(session: Session, _serial: int) -> tuple[bytes, str, str]:
        body = RENDERERS[kind](indexed_entries(session))
        return body, compact_index.etag(body), documents.OCTET_STREAM

    return render


def _names(session: Session, _serial: int) -> tuple[bytes, str, str]:
    body = names_body(sorted({entry.name for entry in local_entries(session)}))
    return body, compact_index.etag(body), documents.COMPACT_INDEX_TYPE


# every public listing kept by `refresh_later`, by key, with its render
AGGREGATES = {**{documents.specs_key(kind): _specs_file(kind) for kind in RENDERERS}, documents.NAMES: _names}


def refresh_public_indexes(store: DocumentStore, session: Session, kinds: set[str], names: bool, *, serial: int,
                           now: datetime) -> None:
    """Mark the given specs files and, with `names`, `/names` stale (all from the public indexed
    gems, O(gems) each to render): rendered after the commit without the change waiting."""
    keys = [documents.specs_key(kind) for kind in sorted(kinds)] + ([documents.NAMES] if names else [])
    for key in keys:
        store.refresh_later(session, ECOSYSTEM, key, AGGREGATES[key], serial=serial, now=now)


def store_public_indexes(store: DocumentStore, session: Session, serial: int, now: datetime) -> None:
    """Every specs file and `/names` now, inside the caller's transaction (`render_all`)."""
    renders = [(documents.specs_key(kind), _specs_file(kind)) for kind in RENDERERS] + [(documents.NAMES, _names)]
    for key, render in renders:
        body, etag, media_type = render(session, serial)
        store.put(session, ECOSYSTEM, key, body, serial=serial, now=now, etag=etag, media_type=media_type, public=True)


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
