"""Rendering of the compact index bodies bundler and gem read: ``/names``,
``/info/<gem>`` and ``/versions``.

Pure functions from plain values to the exact bytes rubygems.org serves (the
formats of the ``compact_index`` gem). Serving, caching and the append-only
storage of ``/versions`` live elsewhere; this module only says what the bytes are.

- ``/info/<gem>``: ``---`` then one line per indexed version, in push order:
  ``VER[-PLATFORM] DEP:REQ[&REQ],...|checksum:SHA256[,ruby:REQ][,rubygems:REQ]``.
  Requirement clauses (``Gem::Requirement#to_s`` split on ``", "``) are sorted as
  strings and joined with ``&``; only runtime dependencies appear; ``ruby:`` and
  ``rubygems:`` only when not ``>= 0``. With no dependencies the line is
  ``VER |checksum:...`` (a space, then the pipe).
- ``/versions``: ``created_at: <ISO 8601>``, ``---``, then
  ``NAME VER[-PLATFORM][,...] INFO_MD5`` lines; a ``-`` before a version marks a yank.
- ``/names``: ``---`` then the sorted names, one per line.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

DEFAULT_REQUIREMENT = ">= 0"


@dataclass(frozen=True)
class InfoEntry:
    """One version of a gem as ``/info/<gem>`` lists it."""

    version: str
    checksum: str  # SHA-256 hex of the .gem
    platform: str = "ruby"
    dependencies: Sequence[tuple[str, str]] = field(default_factory=tuple)  # runtime (name, Requirement#to_s)
    required_ruby_version: Optional[str] = DEFAULT_REQUIREMENT
    required_rubygems_version: Optional[str] = DEFAULT_REQUIREMENT


def number_and_platform(version: str, platform: Optional[str] = None) -> str:
    """``1.0`` or ``1.0-x86_64-linux`` (the ``ruby`` platform is left out)."""
    if platform is None or platform == "ruby":
        return version
    return f"{version}-{platform}"


def join_requirement(requirement: str) -> str:
    """``">= 0.1, < 2"`` -> ``"< 2&>= 0.1"`` (clauses sorted as strings)."""
    return "&".join(sorted(requirement.split(", ")))


def info_line(entry: InfoEntry) -> str:
    """One ``/info`` line, without the newline."""
    deps = ",".join(f"{name}:{join_requirement(req)}" for name, req in entry.dependencies)
    line = f"{number_and_platform(entry.version, entry.platform)} {deps}|checksum:{entry.checksum}"
    if entry.required_ruby_version and entry.required_ruby_version != DEFAULT_REQUIREMENT:
        line += f",ruby:{join_requirement(entry.required_ruby_version)}"
    if entry.required_rubygems_version and entry.required_rubygems_version != DEFAULT_REQUIREMENT:
        line += f",rubygems:{join_requirement(entry.required_rubygems_version)}"
    return line


def info_body(entries: Iterable[InfoEntry]) -> bytes:
    """The full ``/info/<gem>`` body for the gem's indexed versions, oldest push first."""
    return ("---\n" + "".join(info_line(e) + "\n" for e in entries)).encode("utf-8")


def names_body(names: Iterable[str]) -> bytes:
    """The ``/names`` body: every gem with an indexed version, sorted, no duplicates."""
    unique = sorted(set(names), key=lambda n: n.encode("utf-8"))
    return ("---\n" + "\n".join(unique) + "\n").encode("utf-8")


def format_created_at(when: dt.datetime) -> str:
    """``Time#iso8601``: ``1990-01-01T00:00:00Z`` for UTC, else ``...+01:00``."""
    if when.tzinfo is None:
        raise ValueError("created_at needs an aware datetime")
    offset = when.utcoffset()
    if offset == dt.timedelta(0):
        return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.replace(microsecond=0).isoformat()


def versions_header(created_at: dt.datetime) -> bytes:
    """The head of the ``/versions`` file, up to and including ``---``."""
    return f"created_at: {format_created_at(created_at)}\n---\n".encode("utf-8")


def versions_line(name: str, versions: Iterable[str], info_checksum: str) -> bytes:
    """``NAME V1,V2 INFO_MD5\\n``.

    ``versions`` are ``number_and_platform`` strings; prefix one with ``-`` to
    record a yank. ``info_checksum`` is the MD5 hex of the gem's ``/info`` body
    after the event the line records.
    """
    listed = ",".join(versions)
    if not listed:
        raise ValueError(f"a /versions line for {name} needs at least one version")
    return f"{name} {listed} {info_checksum}\n".encode("utf-8")


def yank_line(name: str, version: str, platform: Optional[str], info_checksum: str) -> bytes:
    """The line appended to ``/versions`` when a version is yanked."""
    return versions_line(name, ["-" + number_and_platform(version, platform)], info_checksum)


def versions_body(created_at: dt.datetime, gems: Iterable[tuple[str, Sequence[str], str]]) -> bytes:
    """A compacted ``/versions`` file, as ``rebuild`` writes it.

    ``gems`` yields ``(name, [number_and_platform, ...] in push order, info_md5)``
    for each gem with indexed versions; lines come out sorted by name. Gems with
    no indexed version are left out (they have nothing to list).
    """
    lines = [
        versions_line(name, versions, md5)
        for name, versions, md5 in sorted(gems, key=lambda g: g[0].encode("utf-8"))
        if versions
    ]
    return versions_header(created_at) + b"".join(lines)


# -- digests the compact index is served with ---------------------------------

def info_checksum(body: bytes) -> str:
    """MD5 hex of an ``/info`` body: the third column of ``/versions``."""
    return hashlib.md5(body).hexdigest()


def etag(body: bytes) -> str:
    """The ETag bundler 2.3 requires: the quoted lowercase MD5 hex of the full body."""
    return f'"{hashlib.md5(body).hexdigest()}"'


def repr_digest(body: bytes) -> str:
    """``Repr-Digest`` value (bundler >= 2.5): ``sha-256=:<base64>:``."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode('ascii')}:"


def legacy_digest(body: bytes) -> str:
    """The deprecated ``Digest`` header value rubygems.org still sends: ``sha-256=<base64>``."""
    return f"sha-256={base64.b64encode(hashlib.sha256(body).digest()).decode('ascii')}"
