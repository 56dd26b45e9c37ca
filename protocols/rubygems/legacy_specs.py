"""The public listings (`/names` and the Marshal indexes `gem install`/`gem list -r`/`gem fetch` read), kept as stored documents.

`specs.4.8.gz`, `latest_specs.4.8.gz` and `prerelease_specs.4.8.gz` are re-rendered on every
change (write time, inside the change's transaction; reads only fetch the stored bytes). Quick
gemspecs are rendered once, when the gem is pushed. The byte formats live in `legacy_index`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from packyard.models import Artifact, Package, Version

from . import documents
from .compact_index_lines import names_body
from .gem_version import GemVersion
from .spec_meta import meta_to_spec

ECOSYSTEM = documents.ECOSYSTEM

Entry = tuple[str, str, str]  # (name, version, platform)


def _indexed_entries(session: Session, *, private_names: set[str] | None = None) -> list[Entry]:
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
        entries.append((name, number, platform or "ruby"))
    return entries


def select_entries(entries: list[Entry], kind: str) -> list[Entry]:
    """specs: releases; prerelease_specs: prereleases; latest_specs: newest release per gem and platform."""
    def key(entry: Entry):
        return (entry[0], GemVersion(entry[1]), entry[2])

    releases = [e for e in entries if not GemVersion(e[1]).is_prerelease]
    if kind == "specs":
        chosen = releases
    elif kind == "prerelease_specs":
        chosen = [e for e in entries if GemVersion(e[1]).is_prerelease]
    elif kind == "latest_specs":
        newest: dict[tuple[str, str], Entry] = {}
        for entry in releases:
            current = newest.get((entry[0], entry[2]))
            if current is None or GemVersion(entry[1]) > GemVersion(current[1]):
                newest[(entry[0], entry[2])] = entry
        chosen = list(newest.values())
    else:
        raise ValueError(f"unknown specs index {kind!r}")
    return sorted(chosen, key=key)


def store_public_indexes(session: Session, now: datetime) -> None:
    entries = _indexed_entries(session)
    for kind in documents.SPECS_KINDS:
        documents.put(session, documents.specs_key(kind), _legacy().specs_gz(select_entries(entries, kind)), now)
    public_names = sorted({name for name, _, _ in entries})
    documents.put(session, documents.NAMES, names_body(public_names), now)


def render_specs(session: Session, kind: str, include_private: set[str]) -> bytes:
    """A specs index for a reader of private gems (built per request: O(gems))."""
    return _legacy().specs_gz(select_entries(_indexed_entries(session, private_names=include_private), kind))


def empty_specs() -> bytes:
    return _legacy().specs_gz([])


def store_quick_spec(session: Session, artifact: Artifact, now: datetime) -> None:
    spec = meta_to_spec(artifact.meta or {})
    full_name = artifact.filename[: -len(".gem")]
    documents.put(session, documents.quick_key(full_name), _legacy().quick_gemspec_rz(spec), now)
    if spec.original_name != full_name:
        documents.put(session, documents.quick_alias_key(spec.original_name), artifact.filename.encode(), now)


def _legacy():
    from . import legacy_index

    return legacy_index
