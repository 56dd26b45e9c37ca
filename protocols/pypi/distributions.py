"""Distribution files: filename rules and the core metadata inside wheels and sdists.

Archives are only read, never extracted, so member paths cannot escape anywhere here; but an
installer or a user does extract them, so a member that would write outside the target folder
is refused: an absolute or ``..`` path, a symbolic or hard link whose target leaves the archive,
a device file or FIFO in an sdist, and any symbolic link in a wheel (wheels cannot carry links;
installers would write the link's target path as a file's contents).
"""

from __future__ import annotations

import posixpath
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from email.errors import MessageError
from pathlib import Path

from packaging.metadata import RawMetadata, parse_email
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version
from packyard.models import limits

# Core metadata bigger than this is refused (PyPI's description limit is far below it).
MAX_METADATA_BYTES = 8 * 1024 * 1024
# Metadata-Version values PyPI accepts (2.0 never existed as a real version).
KNOWN_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5")


class InvalidDistribution(ValueError):
    """The file is not an acceptable distribution; the message says why (answered 400)."""


@dataclass(frozen=True)
class DistFilename:
    filename: str
    packagetype: str  # "bdist_wheel" or "sdist"
    name: NormalizedName
    version: Version
    tags: frozenset[Tag]


@dataclass(frozen=True)
class CoreMetadata:
    raw_bytes: bytes  # byte for byte as found in the archive (the PEP 658 sidecar)
    fields: RawMetadata
    name: str
    version: Version


def check_filename_characters(filename: str) -> None:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in filename):
        raise InvalidDistribution(
            "Cannot upload a file with non-printable characters (ordinals 0-31) "
            "or the DEL character (ordinal 127) in the name."
        )
    if len(filename) > limits.FILENAME_LENGTH:
        raise InvalidDistribution(
            f"The file name is {len(filename)} characters long; the limit is {limits.FILENAME_LENGTH}."
        )
    if "/" in filename or "\\" in filename:
        raise InvalidDistribution("Cannot upload a file with '/' or '\\' in the name.")
    if filename in ("", ".", "..") or filename.startswith("."):
        raise InvalidDistribution(f"Invalid distribution filename '{filename}'.")


def parse_filename(filename: str) -> DistFilename:
    """Parse a wheel (``.whl``) or sdist (``.tar.gz``) filename with ``packaging``."""
    check_filename_characters(filename)
    if filename.endswith(".whl"):
        try:
            name, version, _build, tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion) as exc:
            raise InvalidDistribution(f"Invalid wheel filename: {exc}") from None
        return DistFilename(filename, "bdist_wheel", name, version, frozenset(tags))
    if filename.endswith(".tar.gz"):
        try:
            name, version = parse_sdist_filename(filename)
        except (InvalidSdistFilename, InvalidVersion) as exc:
            raise InvalidDistribution(f"Invalid source distribution filename: {exc}") from None
        return DistFilename(filename, "sdist", name, version, frozenset())
    raise InvalidDistribution(
        f"Invalid file extension in '{filename}': use .whl for wheels or .tar.gz for source "
        "distributions. See https://peps.python.org/pep-0527 and "
        "https://peps.python.org/pep-0625 for more information."
    )


def _leaves_archive(path: str) -> bool:
    normalized = posixpath.normpath(path)
    return path.startswith(("/", "\\")) or normalized == ".." or normalized.startswith("../")


def _check_member_path(member: str) -> None:
    if _leaves_archive(member):
        raise InvalidDistribution(
            f"Invalid distribution file. Archive member '{member}' has an unsafe path."
        )


def _check_sdist_member(member: tarfile.TarInfo) -> None:
    """Refuse what would write outside the folder the sdist is unpacked into, or is no file at all."""
    _check_member_path(member.name)
    if member.issym():
        target = posixpath.join(posixpath.dirname(member.name), member.linkname)
        if member.linkname.startswith("/") or _leaves_archive(target):
            raise InvalidDistribution(
                f"Invalid distribution file. Archive member '{member.name}' is a symbolic link to "
                f"'{member.linkname}', outside the archive."
            )
    elif member.islnk():
        if _leaves_archive(member.linkname):
            raise InvalidDistribution(
                f"Invalid distribution file. Archive member '{member.name}' is a hard link to "
                f"'{member.linkname}', outside the archive."
            )
    elif member.ischr() or member.isblk() or member.isfifo():
        kind = "a FIFO" if member.isfifo() else "a device file"
        raise InvalidDistribution(
            f"Invalid distribution file. Archive member '{member.name}' is {kind}; "
            "an sdist holds only files, folders and links within it."
        )


def _check_wheel_entry(info: zipfile.ZipInfo) -> None:
    _check_member_path(info.filename)
    if stat.S_ISLNK(info.external_attr >> 16):  # the Unix mode, where pip looks for links too
        raise InvalidDistribution(
            f"Invalid distribution file. Wheel entry '{info.filename}' is a symbolic link; "
            "wheels cannot contain links."
        )


def parse_core_metadata(data: bytes, where: str) -> CoreMetadata:
    """Parse core metadata bytes (``METADATA``/``PKG-INFO``) with ``packaging.metadata``."""
    try:
        fields, _unparsed = parse_email(data)
    except (ValueError, MessageError) as exc:
        raise InvalidDistribution(f"Invalid distribution file. {where} is unreadable: {exc}") from None
    metadata_version = fields.get("metadata_version")
    if metadata_version not in KNOWN_METADATA_VERSIONS:
        raise InvalidDistribution(
            f"Invalid distribution file. {where} has Metadata-Version '{metadata_version}'; "
            "expected one of " + ", ".join(KNOWN_METADATA_VERSIONS) + "."
        )
    name = fields.get("name")
    if not name:
        raise InvalidDistribution(f"Invalid distribution file. {where} has no Name field.")
    raw_version = fields.get("version")
    try:
        version = Version(raw_version or "")
    except InvalidVersion:
        raise InvalidDistribution(
            f"Invalid distribution file. {where} has an invalid Version '{raw_version}'."
        ) from None
    return CoreMetadata(data, fields, name, version)


def _read_bounded(stream, size: int, where: str) -> bytes:
    if size > MAX_METADATA_BYTES:
        raise InvalidDistribution(
            f"Invalid distribution file. {where} is larger than {MAX_METADATA_BYTES} bytes."
        )
    data = stream.read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise InvalidDistribution(
            f"Invalid distribution file. {where} is larger than {MAX_METADATA_BYTES} bytes."
        )
    return data


def _wheel_metadata(path: Path, dist: DistFilename) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            for entry in archive.infolist():
                _check_wheel_entry(entry)
            names = archive.namelist()
            dist_info_dirs = {
                member.split("/", 1)[0]
                for member in names
                if "/" in member and member.split("/", 1)[0].endswith(".dist-info")
            }
            matching = [
                d
                for d in dist_info_dirs
                if canonicalize_name(d[: -len(".dist-info")].rsplit("-", 1)[0]) == dist.name
            ]
            if len(matching) != 1:
                raise InvalidDistribution(
                    f"Wheel '{dist.filename}' does not contain exactly one "
                    f"'<name>-<version>.dist-info' directory for '{dist.name}' "
                    f"(found: {', '.join(sorted(dist_info_dirs)) or 'none'})."
                )
            dist_info = matching[0]
            for required in ("RECORD", "METADATA"):
                if f"{dist_info}/{required}" not in names:
                    raise InvalidDistribution(
                        f"Wheel '{dist.filename}' does not contain the required {required} "
                        f"file: {dist_info}/{required}"
                    )
            info = archive.getinfo(f"{dist_info}/METADATA")
            with archive.open(info) as stream:
                return _read_bounded(stream, info.file_size, f"{dist_info}/METADATA")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise InvalidDistribution(
            f"Invalid distribution file. '{dist.filename}' is not a readable zip archive: {exc}"
        ) from None


def _sdist_metadata(path: Path, dist: DistFilename) -> bytes:
    top = dist.filename[: -len(".tar.gz")]
    wanted = f"{top}/PKG-INFO"
    found: bytes | None = None
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            while (member := archive.next()) is not None:
                archive.members.clear()  # tarfile keeps every member read; millions of tiny ones would pile up
                _check_sdist_member(member)
                if member.name not in (wanted, f"./{wanted}"):
                    continue
                if not member.isfile():
                    raise InvalidDistribution(f"Invalid distribution file. {wanted} is not a file.")
                stream = archive.extractfile(member)
                if stream is None:
                    raise InvalidDistribution(f"Invalid distribution file. {wanted} is unreadable.")
                found = _read_bounded(stream, member.size, wanted)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise InvalidDistribution(
            f"Invalid distribution file. '{dist.filename}' is not a readable .tar.gz archive: {exc}"
        ) from None
    if found is None:
        raise InvalidDistribution(
            f"Source distribution '{dist.filename}' does not contain the required PKG-INFO "
            f"file: {wanted}"
        )
    return found


def read_core_metadata(path: Path, dist: DistFilename) -> CoreMetadata:
    """Extract and parse the core metadata of the distribution stored at ``path``."""
    if dist.packagetype == "bdist_wheel":
        return parse_core_metadata(_wheel_metadata(path, dist), "METADATA")
    return parse_core_metadata(_sdist_metadata(path, dist), "PKG-INFO")
