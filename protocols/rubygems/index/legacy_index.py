"""The legacy (pre-compact-index) RubyGems indexes, byte for byte as Ruby writes them.

- ``specs.4.8.gz``, ``prerelease_specs.4.8.gz``, ``latest_specs.4.8.gz``: gzip of
  ``Marshal.dump([[name, Gem::Version, platform], ...])``. ``gem list -r``,
  ``gem fetch`` and the full-index fallbacks of gem and bundler read them.
- ``quick/Marshal.4.8/<original_name>.gemspec.rz``: zlib deflate of
  ``Marshal.dump(spec)`` for the abbreviated, sanitized ``Gem::Specification``;
  ``gem install`` fetches one per gem even when it resolves with the compact index.

The spec is rebuilt from the values the gem's YAML held, in the shapes Ruby
gives them after ``Gem::Package#spec`` (see ``Gem::Specification#_dump``,
``#yaml_initialize`` and ``#platform=`` in RubyGems 3.3).
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Iterable

from packyard_rubygems.formats import gem_yaml
from packyard_rubygems.formats.gem_package import GemSpec, InvalidGem
from packyard_rubygems.formats.gem_platform import parse_platform
from packyard_rubygems.formats.gem_version import GemRequirement, GemVersion
from packyard_rubygems.formats.ruby_marshal import RubyObject, RubyString, RubyTime, Symbol, UserDefined, UserMarshal, dumps


@dataclass(frozen=True)
class SpecsEntry:
    """One indexed (not yanked) gem version."""

    name: str
    version: str
    platform: str = "ruby"

    @property
    def prerelease(self) -> bool:
        return GemVersion(self.version).is_prerelease


def ruby_gzip(data: bytes) -> bytes:
    """``Zlib.gzip(data)``: mtime 0, Unix OS byte, default compression level."""
    deflater = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflater.compress(data) + deflater.flush()
    header = b"\x1f\x8b\x08\x00" + b"\x00\x00\x00\x00" + b"\x00\x03"
    return header + body + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


def ruby_deflate(data: bytes) -> bytes:
    """``Gem.deflate(data)`` = ``Zlib::Deflate.deflate(data)`` (zlib stream, default level)."""
    return zlib.compress(data, zlib.Z_DEFAULT_COMPRESSION)


# -- specs indexes --------------------------------------------------------------

def sort_entries(entries: Iterable[SpecsEntry]) -> list[SpecsEntry]:
    """Name, then version oldest first (rubygems.org's ``position desc``), then platform
    in descending string order (as the conformance suite's reference server)."""
    by_platform = sorted(entries, key=lambda e: e.platform.encode("utf-8"), reverse=True)
    return sorted(by_platform, key=lambda e: (e.name.encode("utf-8"), GemVersion(e.version).sort_key()))


def latest_entries(entries: Iterable[SpecsEntry]) -> list[SpecsEntry]:
    """The newest release (not prerelease) of each gem for each platform."""
    best: dict[tuple[str, str], SpecsEntry] = {}
    for entry in entries:
        if entry.prerelease:
            continue
        key = (entry.name, entry.platform)
        current = best.get(key)
        if current is None:
            best[key] = entry
            continue
        order = GemVersion(entry.version).compare(GemVersion(current.version))
        if order > 0 or (order == 0 and entry.version > current.version):  # 1.0.0 over 1.0: deterministic
            best[key] = entry
    return list(best.values())


def specs_marshal(entries: Iterable[SpecsEntry]) -> bytes:
    """``Marshal.dump`` of the sorted ``[name, Gem::Version, platform]`` rows.

    As in Ruby, equal version strings are one cached ``Gem::Version`` object
    (``Gem::Version.new`` memoizes) and every ``ruby`` platform is the one
    ``Gem::Platform::RUBY`` string, so repeats are written as object links.
    """
    versions: dict[str, UserMarshal] = {}
    ruby = RubyString("ruby")
    rows = []
    for e in sort_entries(entries):
        version = versions.setdefault(e.version, UserMarshal("Gem::Version", [e.version]))
        rows.append([e.name, version, ruby if e.platform == "ruby" else e.platform])
    return dumps(rows)


def specs_gz(entries: Iterable[SpecsEntry]) -> bytes:
    """``specs.4.8.gz`` from all indexed versions: the releases."""
    return ruby_gzip(specs_marshal(e for e in entries if not e.prerelease))


def prerelease_specs_gz(entries: Iterable[SpecsEntry]) -> bytes:
    """``prerelease_specs.4.8.gz`` from all indexed versions: the prereleases."""
    return ruby_gzip(specs_marshal(e for e in entries if e.prerelease))


def latest_specs_gz(entries: Iterable[SpecsEntry]) -> bytes:
    """``latest_specs.4.8.gz`` from all indexed versions: newest release per gem and platform."""
    return ruby_gzip(specs_marshal(latest_entries(entries)))


# -- quick gemspec --------------------------------------------------------------

def _version(value: Any) -> UserMarshal:
    return UserMarshal("Gem::Version", [str(value)])


def _requirement(value: Any) -> UserMarshal:
    if value is None:
        value = GemRequirement()
    elif not isinstance(value, GemRequirement):
        value = GemRequirement(value)
    return UserMarshal("Gem::Requirement", [[[op, _version(v)] for op, v in value.constraints]])


def _plain(value: Any) -> Any:
    """YAML data as Marshal values (Ruby objects the spec may hold in its ivars)."""
    if isinstance(value, gem_yaml.RubySymbol):
        return Symbol(str(value))
    if isinstance(value, GemVersion):
        return _version(value)
    if isinstance(value, GemRequirement):
        return _requirement(value)
    if isinstance(value, gem_yaml.RubyObject):
        return RubyObject(value.ruby_class, {f"@{k}": _plain(v) for k, v in value.items()})
    if isinstance(value, dt.datetime):
        return RubyTime(value.astimezone(dt.timezone.utc))
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return value
    raise InvalidGem(f"the gemspec holds a value RubyGems indexes cannot carry: {value!r}")


def _platform_objects(spec: GemSpec) -> tuple[Any, Any]:
    """``(@original_platform, @new_platform)`` as ``yaml_initialize`` + ``platform=`` leave them."""
    raw = spec.raw.get("platform")
    if isinstance(raw, gem_yaml.RubyObject):  # very old gems wrote a Gem::Platform object
        obj = _plain(raw)
        parsed = parse_platform("-".join(str(raw.get(k)) for k in ("cpu", "os", "version") if raw.get(k)))
        new = RubyObject("Gem::Platform", {"@cpu": parsed.cpu, "@os": parsed.os, "@version": parsed.version}) \
            if parsed else obj
        return obj, new
    parsed = parse_platform(raw)
    if parsed is None:
        ruby = RubyString("ruby")  # Gem::Platform::RUBY: one object in both ivars
        return ruby, ruby
    return raw, RubyObject("Gem::Platform", {"@cpu": parsed.cpu, "@os": parsed.os, "@version": parsed.version})


def _date(spec: GemSpec) -> RubyTime:
    when = spec.date
    if when is None:  # Ruby falls back to today
        today = dt.datetime.now(dt.timezone.utc)
        when = dt.datetime(today.year, today.month, today.day, tzinfo=dt.timezone.utc)
    return RubyTime(when)


_RUBY_STRIP = "\0\t\n\v\f\r "


def _sanitized_summary(value: Any) -> Any:
    """``summary = sanitize_string(summary)`` runs ``summary=``: strip and fold newlines."""
    if value is None:
        return RubyString("", "US-ASCII")  # nil.to_s
    text = str(value).strip(_RUBY_STRIP)
    text = re.sub(r"(\w-)\n[ \t]*(\w)", r"\1\2", text, flags=re.ASCII)
    return re.sub(r"\n[ \t]*", " ", text)


def _sanitized_description(value: Any) -> Any:
    """``description=`` stores ``str.to_s``: nil becomes an empty US-ASCII string."""
    return RubyString("", "US-ASCII") if value is None else value


def _sanitized_authors(value: Any) -> list:
    """``authors=`` keeps ``Array(value).flatten.grep(String)``."""
    items = value if isinstance(value, list) else ([] if value is None else [value])
    flat: list = []

    def walk(xs: list) -> None:
        for x in xs:
            if isinstance(x, list):
                walk(x)
            elif isinstance(x, str):
                flat.append(x)

    walk(items)
    return flat


def quick_gemspec_marshal(spec: GemSpec) -> bytes:
    """``Marshal.dump(spec)`` after ``spec.abbreviate; spec.sanitize`` (``Gem::Specification#_dump``)."""
    raw = spec.raw
    original_platform, new_platform = _platform_objects(spec)
    spec_version = raw.get("specification_version")
    fields = [
        raw.get("rubygems_version"),
        spec_version if spec_version is not None else -1,
        spec.name,
        _version(raw.get("version")),
        _date(spec),
        _sanitized_summary(raw.get("summary")),
        _requirement(raw.get("required_ruby_version")),
        _requirement(raw.get("required_rubygems_version")),
        original_platform,
        _plain(raw.get("dependencies") or []),
        "",  # rubyforge_project
        _plain(raw.get("email")),
        _sanitized_authors(raw.get("authors")),
        _sanitized_description(raw.get("description")),
        raw.get("homepage"),
        True,  # has_rdoc
        new_platform,
        _plain(raw.get("licenses") if raw.get("licenses") is not None else []),
        _plain(raw.get("metadata") if raw.get("metadata") is not None else {}),
    ]
    return dumps(UserDefined("Gem::Specification", dumps(fields)))


def quick_gemspec_rz(spec: GemSpec) -> bytes:
    """The body of ``quick/Marshal.4.8/<spec.original_name>.gemspec.rz``."""
    return ruby_deflate(quick_gemspec_marshal(spec))
