"""Builds real wheels and sdists at test time (no network, no build backend needed).

The wheels are complete (METADATA, WHEEL, RECORD with hashes) so pip and uv install them;
knobs let tests produce the broken variants the upload path must refuse.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import time
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name


def dist_name(name: str) -> str:
    """The filename form of a project name (normalized, '-' -> '_')."""
    return canonicalize_name(name).replace("-", "_")


def core_metadata(
    name: str,
    version: str,
    *,
    summary: str = "A test package",
    requires_dist: tuple[str, ...] = (),
    requires_python: str | None = None,
    description: str = "Built by packyard's test suite.\n",
) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    lines.append("Description-Content-Type: text/plain")
    return ("\n".join(lines) + "\n\n" + description).encode("utf-8")


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_dist: tuple[str, ...] = (),
    requires_python: str | None = None,
    tag: str = "py3-none-any",
    metadata: bytes | None = None,
    include_metadata: bool = True,
    filename: str | None = None,
    module_code: str | None = None,
    extra_entries: tuple[tuple[zipfile.ZipInfo, bytes], ...] = (),
) -> Path:
    """Write a wheel whose module ``<dist_name>`` has ``VERSION = '<version>'`` (plus ``extra_entries``)."""
    base = dist_name(name)
    dist_info = f"{base}-{version}.dist-info"
    meta = metadata if metadata is not None else core_metadata(
        name, version, requires_dist=requires_dist, requires_python=requires_python
    )
    files: dict[str, bytes] = {
        f"{base}/__init__.py": (module_code or f"VERSION = {version!r}\n").encode(),
        f"{dist_info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: packyard-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
        ).encode(),
    }
    if include_metadata:
        files[f"{dist_info}/METADATA"] = meta
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = Path(directory) / (filename or f"{base}-{version}-{tag}.whl")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0)), data)
        for info, data in extra_entries:
            archive.writestr(info, data)
    return path


def build_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_dist: tuple[str, ...] = (),
    requires_python: str | None = None,
    metadata: bytes | None = None,
    filename: str | None = None,
    extra_members: tuple[tarfile.TarInfo, ...] = (),
) -> Path:
    """Write a PEP 625 sdist (``<dist_name>-<version>.tar.gz``) with PKG-INFO (plus empty ``extra_members``)."""
    top = f"{dist_name(name)}-{version}"
    pkg_info = metadata if metadata is not None else core_metadata(
        name, version, requires_dist=requires_dist, requires_python=requires_python
    )
    members = {
        f"{top}/PKG-INFO": pkg_info,
        f"{top}/pyproject.toml": (
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        ).encode(),
        f"{top}/{dist_name(name)}/__init__.py": f"VERSION = {version!r}\n".encode(),
    }
    path = Path(directory) / (filename or f"{top}.tar.gz")
    with tarfile.open(path, "w:gz") as archive:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(data))
        for info in extra_members:
            archive.addfile(info)
    return path
