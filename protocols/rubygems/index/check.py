"""`packyard check` for RubyGems: the stored index documents against a fresh render of the rows.

- `/info/<gem>` of every gem equals the render of its indexed files, in push order;
- in `/versions`, the last line of every public gem carries the MD5 of its served `/info`, every
  public gem with an indexed version is listed, and no private gem is (nor an upstream gem whose
  name resolves locally; other upstream gems' lines carry upstream's MD5s and are not checked);
- `/names` and the Marshal `specs` files equal a render of the public indexed gems, unless a change
  has marked one stale and its background render has not run yet (its next reader renders it).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from sqlmodel import Session, select

from packyard.models import Artifact, Package

from packyard.documents import rows
from packyard.documents.store import stale_key

from packyard_rubygems.index import documents, legacy_specs
from packyard_rubygems.index.compact_index import info_checksum
from packyard_rubygems.index.compact_index_lines import info_body, names_body
from packyard_rubygems.upstream.local_names import local_set

ECOSYSTEM = documents.ECOSYSTEM


def check_documents(session: Session) -> Iterator[str]:
    packages = {p.id: p for p in session.exec(select(Package).where(Package.ecosystem == ECOSYSTEM))}
    artifacts = session.exec(select(Artifact).where(Artifact.ecosystem == ECOSYSTEM).order_by(Artifact.package_id, Artifact.id))
    indexed: dict[str, list[Artifact]] = {p.name: [] for p in packages.values()}
    for package_id, files in groupby(artifacts, key=lambda a: a.package_id):
        indexed[packages[package_id].name] = [a for a in files if not a.yanked]
    stored = rows.bodies(session, ECOSYSTEM, [documents.info_key(name) for name in indexed])

    served_info: dict[str, bytes] = {}
    for name, files in sorted(indexed.items()):
        body = stored.get(documents.info_key(name))
        if body is None:
            yield f"/info/{name} is missing"
            continue
        served_info[name] = body
        if body != info_body(files):
            yield f"/info/{name} differs from a fresh render of its {len(files)} indexed file(s)"

    public = {p.name for p in packages.values() if not p.is_private}
    yield from _versions_problems(session, served_info, public, {n for n in public if indexed[n]})

    entries = legacy_specs.indexed_entries(session)
    names = _body(session, documents.NAMES) or b"---\n\n"
    local_names = sorted({e.name for e in legacy_specs.local_entries(session)})  # upstream gems are not listed
    if not _awaits_render(session, documents.NAMES) and names != names_body(local_names):
        yield "/names differs from a fresh render of the public gems"
    for kind, render in legacy_specs.RENDERERS.items():
        body = _body(session, documents.specs_key(kind)) or legacy_specs.empty_specs()
        if not _awaits_render(session, documents.specs_key(kind)) and body != render(entries):
            yield f"{kind}.4.8.gz differs from a fresh render of the public gems"


def _versions_problems(session: Session, info: dict[str, bytes], public: set[str], listable: set[str]) -> Iterator[str]:
    body = _body(session, documents.VERSIONS) or b""
    _, _, lines = body.partition(b"---\n")
    last_md5: dict[str, str] = {}
    for line in lines.decode("utf-8").splitlines():
        name, _, rest = line.partition(" ")
        last_md5[name] = rest.rpartition(" ")[2]
    local = local_set(session)
    for name in sorted(last_md5):
        if name not in public and name.lower() in local:
            yield f"/versions lists '{name}', which is not a public gem"
        elif name in info and last_md5[name] != info_checksum(info[name]):
            yield f"/versions ends '{name}' with MD5 {last_md5[name]}, but its /info has MD5 {info_checksum(info[name])}"
    for name in sorted(listable - last_md5.keys()):
        yield f"/versions does not list the public gem '{name}'"


def _awaits_render(session: Session, key: str) -> bool:
    marker, doc = rows.read(session, ECOSYSTEM, stale_key(key)), rows.read(session, ECOSYSTEM, key)
    return marker is not None and (doc is None or doc.serial < marker.serial)


def _body(session: Session, key: str) -> bytes | None:
    doc = rows.read(session, ECOSYSTEM, key)
    return None if doc is None else doc.body
