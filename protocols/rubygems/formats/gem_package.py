"""Reading a pushed ``.gem`` file: an uncompressed tar holding ``metadata.gz``
(the gzipped YAML spec), ``data.tar.gz`` (the files) and usually
``checksums.yaml.gz``.

``read_gem`` opens the file from disk, never trusts sizes or tags in it, checks
what RubyGems checks (name and version rules, checksums), and returns a
``GemSpec`` with everything the registry keeps. Every refusal is an
``InvalidGem`` whose message tells the user what to fix.

The files in ``data.tar.gz`` are checked as ``gem install`` checks them when it
unpacks (``Gem::Package#install_location``, ``SymlinkError``): a path that is
absolute or climbs out with ``..``, or a symbolic link pointing outside the
gem's folder, would make ``gem install`` fail, so the push is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Optional

from packyard_rubygems.formats import gem_yaml
from packyard.models import limits

from packyard_rubygems.adapter import RubygemsAdapter
from packyard_rubygems.formats.gem_platform import InvalidPlatform, canonical_platform
from packyard_rubygems.formats.gem_version import GemRequirement, GemVersion, InvalidRequirement, InvalidVersion

DEFAULT_MAX_METADATA_BYTES = 1024 * 1024
MAX_CHECKSUMS_BYTES = 64 * 1024
_REBUILD_HINT = "rebuild it with `gem build` and try again"

# Gem::Specification#validate_name (RubyGems 3.3)
VALID_NAME = re.compile(r"\A[a-zA-Z0-9._-]+\Z", re.ASCII)
_HAS_LETTER = re.compile(r"[a-zA-Z]")
_CHECKSUM_ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
_MEMBERS = ("metadata.gz", "data.tar.gz", "checksums.yaml.gz")


class InvalidGem(ValueError):
    """The upload is not a .gem RubyGems would accept; ``str(exc)`` is for the user."""


@dataclass
class GemSpec:
    name: str
    version: str
    platform: str = "ruby"  # Gem::Platform.new(original_platform).to_s
    original_platform: str = "ruby"  # as written in the gem
    authors: list[str] = field(default_factory=list)
    email: Any = None  # String, Array of String or None, as in the spec
    summary: Optional[str] = None
    description: Optional[str] = None
    homepage: Optional[str] = None
    licenses: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    runtime_dependencies: list[tuple[str, str]] = field(default_factory=list)
    development_dependencies: list[tuple[str, str]] = field(default_factory=list)
    required_ruby_version: str = ">= 0"
    required_rubygems_version: str = ">= 0"
    date: Optional[dt.datetime] = None
    rubygems_version: Optional[str] = None
    specification_version: Optional[int] = None
    files: list[str] = field(default_factory=list)
    executables: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    post_install_message: Optional[str] = None
    raw: dict = field(default_factory=dict, repr=False)  # the loaded YAML mapping (ivar name -> value)

    @property
    def prerelease(self) -> bool:
        return GemVersion(self.version).is_prerelease

    @property
    def full_name(self) -> str:
        """``Gem::Specification#full_name``: the ``/gems/<full_name>.gem`` file name."""
        return full_name(self.name, self.version, self.platform)

    @property
    def original_name(self) -> str:
        """``Gem::Specification#original_name``: the quick gemspec file name."""
        return full_name(self.name, self.version, self.original_platform)


def full_name(name: str, version: str, platform: Optional[str] = None) -> str:
    """``name-version``, or ``name-version-platform`` unless the platform is ``ruby``."""
    if platform in (None, "", "ruby"):
        return f"{name}-{version}"
    return f"{name}-{version}-{platform}"


def validate_name(name: Any) -> str:
    """RubyGems' gem name rules; returns the name or raises ``InvalidGem``."""
    if not isinstance(name, str) or not name:
        raise InvalidGem("the gem has no name (the gemspec must set `name`)")
    if not _HAS_LETTER.search(name):
        raise InvalidGem(f"invalid gem name {name!r}: a name must include at least one letter")
    if not VALID_NAME.match(name):
        raise InvalidGem(
            f"invalid gem name {name!r}: a name can only include letters, numbers, dots, dashes and underscores"
        )
    if name[0] in "._-":
        raise InvalidGem(f"invalid gem name {name!r}: a name can not begin with a period, dash, or underscore")
    if ".." in name:
        raise InvalidGem(f"invalid gem name {name!r}: a name can not contain '..'")
    if len(name) > RubygemsAdapter.max_name_length:
        raise InvalidGem(
            f"invalid gem name {name[:40]!r}...: it is {len(name)} characters long; "
            f"the limit is {RubygemsAdapter.max_name_length}"
        )
    return name


# ---------------------------------------------------------------------------
# reading the archive

def read_gem(path: str, max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES) -> GemSpec:
    """Open the ``.gem`` at ``path`` and return its validated spec."""
    members = _read_members(path, max_metadata_bytes)
    if "metadata.gz" not in members:
        raise InvalidGem(f"the .gem has no metadata.gz (the gem specification); {_REBUILD_HINT}")
    if "data.tar.gz" not in members:
        raise InvalidGem(f"the .gem has no data.tar.gz (the gem's files); {_REBUILD_HINT}")
    if "checksums.yaml.gz" in members:
        _verify_checksums(members, max_metadata_bytes)
    yaml_text = _gunzip(members["metadata.gz"]["bytes"], "metadata.gz", max_metadata_bytes)
    try:
        data = gem_yaml.load(yaml_text, max_bytes=max_metadata_bytes)
    except gem_yaml.GemYamlError as exc:
        raise InvalidGem(f"metadata.gz: {exc}") from None
    return spec_from_yaml_data(data)


def _read_members(path: str, max_metadata_bytes: int) -> dict[str, dict]:
    """The three known members: bytes of the small ones, digests of data.tar.gz."""
    found: dict[str, dict] = {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for info in tar:
                if info.name not in _MEMBERS:
                    continue
                if info.name in found:
                    raise InvalidGem(f"the .gem contains {info.name} twice; {_REBUILD_HINT}")
                if not info.isfile():
                    raise InvalidGem(f"{info.name} in the .gem is not a regular file; {_REBUILD_HINT}")
                stream = tar.extractfile(info)
                assert stream is not None
                if info.name == "data.tar.gz":
                    digests = {alg: make() for alg, make in _CHECKSUM_ALGORITHMS.items()}
                    head = b""
                    while chunk := stream.read(1024 * 1024):
                        if len(head) < 2:
                            head += chunk[:2]
                        for d in digests.values():
                            d.update(chunk)
                    if head[:2] != b"\x1f\x8b":
                        raise InvalidGem(f"data.tar.gz in the .gem is not gzip data; {_REBUILD_HINT}")
                    stream.seek(0)
                    _check_data_files(stream)
                    found[info.name] = {"digests": {alg: d.hexdigest() for alg, d in digests.items()}}
                else:
                    limit = max_metadata_bytes if info.name == "metadata.gz" else MAX_CHECKSUMS_BYTES
                    if info.size > limit:
                        raise InvalidGem(f"{info.name} is {info.size} bytes; the limit is {limit} bytes")
                    body = stream.read()
                    found[info.name] = {
                        "bytes": body,
                        "digests": {alg: make(body).hexdigest() for alg, make in _CHECKSUM_ALGORITHMS.items()},
                    }
    except InvalidGem:
        raise
    except (tarfile.TarError, EOFError, ValueError, UnicodeError) as exc:
        raise InvalidGem(
            f"the upload is not a valid .gem file (a .gem is an uncompressed tar archive: {exc}); {_REBUILD_HINT}"
        ) from None
    return found


def _climbs_out(path: str) -> bool:
    normalized = posixpath.normpath(path)
    return path.startswith("/") or normalized == ".." or normalized.startswith("../")


def _check_data_files(stream) -> None:
    """Refuse files of ``data.tar.gz`` that ``gem install`` would refuse to unpack."""
    try:
        with tarfile.open(fileobj=stream, mode="r|gz") as files:
            while (entry := files.next()) is not None:
                files.members.clear()  # tarfile keeps every member read; millions of tiny ones would pile up
                if _climbs_out(entry.name):
                    raise InvalidGem(
                        f"data.tar.gz: the file {entry.name!r} would be installed outside the gem's folder "
                        f"(gem install refuses it); {_REBUILD_HINT}"
                    )
                if entry.issym() and _climbs_out(posixpath.join(posixpath.dirname(entry.name), entry.linkname)):
                    raise InvalidGem(
                        f"data.tar.gz: the symbolic link {entry.name!r} points to {entry.linkname!r}, outside the "
                        f"gem's folder (gem install refuses it); {_REBUILD_HINT}"
                    )
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise InvalidGem(f"data.tar.gz in the .gem is not a readable tar.gz archive ({exc}); {_REBUILD_HINT}") from None


def _gunzip(data: bytes, member: str, max_bytes: int) -> bytes:
    if data[:2] != b"\x1f\x8b":
        raise InvalidGem(f"{member} in the .gem is not gzip data; {_REBUILD_HINT}")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise InvalidGem(f"{member} in the .gem is corrupt gzip data ({exc}); {_REBUILD_HINT}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise InvalidGem(f"{member} unpacks to more than {max_bytes} bytes; the limit is {max_bytes} bytes")
    if not inflater.eof:
        raise InvalidGem(f"{member} in the .gem is truncated gzip data; {_REBUILD_HINT}")
    return out


def _verify_checksums(members: dict[str, dict], max_metadata_bytes: int) -> None:
    text = _gunzip(members["checksums.yaml.gz"]["bytes"], "checksums.yaml.gz", MAX_CHECKSUMS_BYTES)
    try:
        sums = gem_yaml.load(text, max_bytes=MAX_CHECKSUMS_BYTES)
    except gem_yaml.GemYamlError as exc:
        raise InvalidGem(f"checksums.yaml.gz: {exc}") from None
    if not isinstance(sums, dict):
        raise InvalidGem(f"checksums.yaml.gz is not a mapping of checksums; {_REBUILD_HINT}")
    for algorithm, entries in sums.items():
        if algorithm not in _CHECKSUM_ALGORITHMS:
            continue  # RubyGems also skips digests it does not know
        if not isinstance(entries, dict):
            raise InvalidGem(f"checksums.yaml.gz: {algorithm} is not a mapping of file names to digests")
        for member, expected in entries.items():
            if member not in members or member == "checksums.yaml.gz":
                continue
            actual = members[member]["digests"][algorithm]
            if not isinstance(expected, str) or expected.lower() != actual:
                raise InvalidGem(
                    f"{algorithm} checksum mismatch for {member} in the .gem (checksums.yaml.gz says "
                    f"{expected}, the contents hash to {actual}): the file is corrupt or was modified; "
                    f"{_REBUILD_HINT}"
                )


# ---------------------------------------------------------------------------
# spec mapping -> GemSpec

def _requirement(value: Any, what: str) -> str:
    if value is None:
        return ">= 0"
    if isinstance(value, GemRequirement):
        return str(value)
    if isinstance(value, (str, list)):
        try:
            return str(GemRequirement(value))
        except (InvalidRequirement, InvalidVersion) as exc:
            raise InvalidGem(f"invalid {what}: {exc}") from None
    raise InvalidGem(f"invalid {what}: {value!r}")


def _string_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidGem(f"invalid {what} in the gemspec: expected a list of strings")


def _optional_string(value: Any, what: str) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    raise InvalidGem(f"invalid {what} in the gemspec: expected a string")


def _dependencies(value: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    runtime: list[tuple[str, str]] = []
    development: list[tuple[str, str]] = []
    if value is None:
        return runtime, development
    if not isinstance(value, list):
        raise InvalidGem("invalid dependencies in the gemspec: expected a list")
    for dep in value:
        if not (isinstance(dep, gem_yaml.RubyObject) and dep.ruby_class == "Gem::Dependency"):
            raise InvalidGem(f"invalid dependency in the gemspec: {dep!r}")
        name = dep.get("name")
        for key, item in dep.items():
            if not (item is None or isinstance(item, (str, bool, int, GemRequirement, GemVersion))):
                raise InvalidGem(f"invalid value for {key} of dependency {name!r} in the gemspec: {item!r}")
        if not isinstance(name, str) or not VALID_NAME.match(name):
            raise InvalidGem(f"invalid dependency name {name!r} in the gemspec")
        req = dep.get("requirement") or dep.get("version_requirements")
        requirement = _requirement(req, f"requirement for dependency {name}")
        kind = dep.get("type") or "runtime"
        if kind == "runtime":
            runtime.append((name, requirement))
        elif kind == "development":
            development.append((name, requirement))
        else:
            raise InvalidGem(f"invalid dependency type {kind!r} for {name} in the gemspec")
    return runtime, development


# Marshal's Time format (the quick gemspec) holds years from 1900; `gem build` never writes one before 1980.
_FIRST_YEAR = 1900


def _date(value: Any) -> Optional[dt.datetime]:
    """``Gem::Specification#date=``: one-day resolution, UTC."""
    if value is None:
        return None
    day = _day(value)
    if day is None:
        raise InvalidGem(f"invalid date format in the gemspec: {value!r}")
    if day.year < _FIRST_YEAR:
        raise InvalidGem(f"invalid date in the gemspec: {value!r} is before {_FIRST_YEAR}")
    return day


def _day(value: Any) -> Optional[dt.datetime]:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            try:
                value = value.astimezone(dt.timezone.utc)
            except OverflowError:
                return None
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, str):
        m = re.match(r"\A(\d{4})-(\d{2})-(\d{2})(\s+\d{2}:\d{2}:\d{2}\.\d+\s*(Z|[-+]\d\d:\d\d))?\Z", value)
        if m:
            try:
                return dt.datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=dt.timezone.utc)
            except ValueError:
                return None
    return None


def spec_from_yaml_data(data: Any) -> GemSpec:
    """Validate a loaded ``Gem::Specification`` mapping and turn it into a ``GemSpec``."""
    if not (isinstance(data, gem_yaml.RubyObject) and data.ruby_class == "Gem::Specification"):
        raise InvalidGem("metadata.gz is not a gem specification (expected --- !ruby/object:Gem::Specification)")
    name = validate_name(data.get("name"))
    raw_version = data.get("version")
    if isinstance(raw_version, GemVersion):
        raw_version = str(raw_version)
    if not isinstance(raw_version, (str, int)):
        raise InvalidGem(f"the gem {name} has no valid version")
    try:
        version = str(GemVersion(str(raw_version)))
    except InvalidVersion:
        raise InvalidGem(f"invalid version {raw_version!r} for gem {name}: RubyGems versions look like 1.2.3 or 1.2.3.pre") from None
    if version != str(raw_version):
        # Ruby would keep the raw text (spaces, dashes), which breaks file names and indexes.
        raise InvalidGem(f"invalid version {raw_version!r} for gem {name}: write it as {version!r}")
    if len(version) > RubygemsAdapter.max_version_length:
        raise InvalidGem(
            f"invalid version for gem {name}: it is {len(version)} characters long; "
            f"the limit is {RubygemsAdapter.max_version_length}"
        )

    raw_platform = data.get("platform")
    if isinstance(raw_platform, gem_yaml.RubyObject) and raw_platform.ruby_class == "Gem::Platform":
        parts = [raw_platform.get(k) for k in ("cpu", "os", "version")]
        raw_platform = "-".join(str(p) for p in parts if p is not None)
    if raw_platform is not None and not isinstance(raw_platform, str):
        raise InvalidGem(f"invalid platform {raw_platform!r} in the gemspec")
    try:
        platform = canonical_platform(raw_platform)
    except InvalidPlatform as exc:
        raise InvalidGem(str(exc)) from None
    if not re.fullmatch(r"[A-Za-z0-9._-]+", platform):
        raise InvalidGem(f"invalid platform {raw_platform!r} in the gemspec")
    original_platform = raw_platform or "ruby"
    if len(original_platform) > limits.PLATFORM_LENGTH:
        raise InvalidGem(f"invalid platform in the gemspec: it is longer than {limits.PLATFORM_LENGTH} characters")

    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise InvalidGem("invalid metadata in the gemspec: keys and values must be strings")
    runtime, development = _dependencies(data.get("dependencies"))
    email = data.get("email")
    if email is not None and not isinstance(email, str):
        email = _string_list(email, "email")
    spec_version = data.get("specification_version")
    if spec_version is not None and (isinstance(spec_version, bool) or not isinstance(spec_version, int)):
        raise InvalidGem(f"invalid specification_version {spec_version!r} in the gemspec")
    return GemSpec(
        name=name,
        version=version,
        platform=platform,
        original_platform=original_platform,
        authors=_string_list(data.get("authors"), "authors"),
        email=email,
        summary=_optional_string(data.get("summary"), "summary"),
        description=_optional_string(data.get("description"), "description"),
        homepage=_optional_string(data.get("homepage"), "homepage"),
        licenses=_string_list(data.get("licenses"), "licenses"),
        metadata=dict(metadata),
        runtime_dependencies=runtime,
        development_dependencies=development,
        required_ruby_version=_requirement(data.get("required_ruby_version"), "required_ruby_version"),
        required_rubygems_version=_requirement(
            data.get("required_rubygems_version"), "required_rubygems_version"
        ),
        date=_date(data.get("date")),
        rubygems_version=_optional_string(data.get("rubygems_version"), "rubygems_version"),
        specification_version=spec_version,
        files=_string_list(data.get("files"), "files"),
        executables=_string_list(data.get("executables"), "executables"),
        extensions=_string_list(data.get("extensions"), "extensions"),
        post_install_message=_optional_string(data.get("post_install_message"), "post_install_message"),
        raw=data,
    )
