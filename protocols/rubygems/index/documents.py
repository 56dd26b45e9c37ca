"""The documents the RubyGems read paths serve, kept in the core's document store.

Keys are the URL paths below `/rubygems/` (so the store's files are laid out as the URLs):
- `info/<gem>`: the `/info/<gem>` body (public and private gems; access is checked on read);
- `versions`: the shared `/versions` body (public gems only), append-only between compactions;
- `names`: the public `/names` body;
- `specs.4.8.gz`, `latest_specs.4.8.gz`, `prerelease_specs.4.8.gz`: the public Marshal indexes;
- `quick/Marshal.4.8/<full_name>.gemspec.rz`: each indexed file's quick gemspec (also under the
  spelling of its gemspec's original platform, which old gems use);
- `gems/<full_name>.gem`: each indexed file, as a blob document (and each `.gem` fetched from
  the upstream, when one is configured);
- `upstream/versions-position` (internal): how far upstream's `/versions` has been read.

Every one is written inside the serialized write transaction of the change that alters it.
ETags are the quoted MD5 of the body (bundler 2.3 checks exactly that; `.gem` files: their MD5).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from packyard.documents.store import DocumentStore

from packyard_rubygems.index import compact_index

ECOSYSTEM = "rubygems"
COMPACT_INDEX_TYPE = "text/plain; charset=utf-8"
OCTET_STREAM = "application/octet-stream"
VERSIONS = "versions"
NAMES = "names"
SPECS_FILES = {"specs": "specs.4.8.gz", "latest_specs": "latest_specs.4.8.gz", "prerelease_specs": "prerelease_specs.4.8.gz"}
UPSTREAM_VERSIONS_POSITION = "upstream/versions-position"
QUICK_PREFIX = "quick/Marshal.4.8/"
QUICK_SUFFIX = ".gemspec.rz"


def info_key(name: str) -> str:
    return f"info/{name}"


def specs_key(kind: str) -> str:
    return SPECS_FILES[kind]


def quick_key(full_name: str) -> str:
    return f"{QUICK_PREFIX}{full_name}{QUICK_SUFFIX}"


def gem_key(full_name: str) -> str:
    return f"gems/{full_name}.gem"


def put_compact_index(store: DocumentStore, session: Session, key: str, body: bytes, *, serial: int, now: datetime,
                      public: bool = True, appendable: bool = False) -> None:
    store.put(session, ECOSYSTEM, key, body, serial=serial, now=now, etag=compact_index.etag(body),
              media_type=COMPACT_INDEX_TYPE, public=public, appendable=appendable)


def put_binary(store: DocumentStore, session: Session, key: str, body: bytes, *, serial: int, now: datetime, public: bool = True) -> None:
    store.put(session, ECOSYSTEM, key, body, serial=serial, now=now, etag=compact_index.etag(body),
              media_type=OCTET_STREAM, public=public)
