"""Validation of the legacy upload form (what twine and uv send), forklift style.

The texts follow Warehouse's so that users see on packyard what they would see on PyPI.
Metadata fields are validated with ``packaging.metadata`` as Warehouse does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from typing import get_origin, get_type_hints

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata
from packaging.version import InvalidVersion, Version

from packyard_pypi.adapter import PypiAdapter
from packyard_pypi.distributions import KNOWN_METADATA_VERSIONS

METADATA_HELP = "See https://packaging.python.org/specifications/core-metadata for more information."
NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE | re.ASCII)
HEX_RE = re.compile(r"\A[0-9a-fA-F]+\Z")

# Form field names that differ from packaging's RawMetadata keys.
_FORM_TO_RAW = {
    "platform": "platforms",
    "supported_platform": "supported_platforms",
    "license_file": "license_files",
    "import_name": "import_names",
    "import_namespace": "import_namespaces",
}
_NOT_METADATA = {"metadata_version", "name", "version"}
# Which RawMetadata keys hold lists or dicts, read from packaging's own type hints.
_RAW_KINDS = {key: get_origin(hint) or hint for key, hint in get_type_hints(RawMetadata).items()}


class UploadError(Exception):
    """An upload refused with ``status`` and a message a person can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class UploadForm:
    name: str
    version: Version
    metadata_version: str
    filetype: str  # "sdist" or "bdist_wheel"
    pyversion: str
    md5_digest: str | None
    sha256_digest: str | None
    blake2_256_digest: str | None
    comment: str | None
    metadata: RawMetadata  # validated core-metadata fields sent with the form


def _single(fields: dict[str, list[str]], key: str) -> str | None:
    values = [v for v in fields.get(key, []) if v != "UNKNOWN"]
    if not values or values[0] == "":
        return None
    if len(values) > 1:
        raise UploadError(400, f"'{key}' has invalid data: it was sent more than once.")
    return values[0]


def check_action(fields: dict[str, list[str]]) -> None:
    action = _single(fields, ":action")
    if action in ("submit", "submit_pkg_info"):
        raise UploadError(410, "Project pre-registration is no longer required or supported, upload your files instead.")
    if action == "doc_upload":
        raise UploadError(410, "Uploading documentation is no longer supported.")
    if action != "file_upload":
        raise UploadError(400, f"Unknown :action '{action}'. Use ':action=file_upload'.")
    if (_single(fields, "protocol_version") or "1") != "1":
        raise UploadError(400, "Unknown protocol version.")


def _invalid(value: str, description: str, error: str) -> UploadError:
    return UploadError(
        400, f"'{value}' is an invalid value for {description}. Error: {error} {METADATA_HELP}"
    )


def _digest(fields: dict[str, list[str]], key: str) -> str | None:
    value = _single(fields, key)
    if value is None:
        return None
    expected = 32 if key == "md5_digest" else 64
    if len(value) != expected or not HEX_RE.match(value):
        algorithm = "MD5" if key == "md5_digest" else ("SHA256" if key.startswith("sha") else "BLAKE2b-256")
        raise UploadError(400, f"Use a valid, hex-encoded, {algorithm} message digest.")
    return value.lower()


def _form_metadata(fields: dict[str, list[str]], metadata_version: str, name: str, version: str) -> RawMetadata:
    raw: dict = {"metadata_version": metadata_version, "name": name, "version": version}
    for form_key, values in fields.items():
        key = _FORM_TO_RAW.get(form_key, form_key)
        if key in _NOT_METADATA or key not in _RAW_KINDS:
            continue
        values = [v for v in values if v not in ("", "UNKNOWN")]
        if not values:
            continue
        if key == "keywords":
            joined = _single(fields, form_key) or ""
            raw[key] = [k.strip() for k in joined.split(",") if k.strip()]
        elif _RAW_KINDS[key] is dict:
            urls: dict[str, str] = {}
            for value in values:
                label, _, url = value.partition(",")
                urls[label.strip()] = url.strip()
            raw[key] = urls
        elif _RAW_KINDS[key] is list:
            raw[key] = values
        else:
            raw[key] = _single(fields, form_key)
    try:
        Metadata.from_raw(raw, validate=True)  # type: ignore[arg-type]
    except ExceptionGroup as group:
        first = group.exceptions[0]
        message = str(first) if isinstance(first, InvalidMetadata) else repr(first)
        raise UploadError(400, f"{message} {METADATA_HELP}") from None
    return raw  # type: ignore[return-value]


def parse_upload_form(fields: dict[str, list[str]]) -> UploadForm:
    """Validate the non-file fields of a ``file_upload`` request (after :func:`check_action`)."""
    metadata_version = _single(fields, "metadata_version")
    if metadata_version not in KNOWN_METADATA_VERSIONS:
        raise _invalid(
            metadata_version or "", "Metadata-Version", f"'{metadata_version}' is not a valid metadata version"
        )
    name = _single(fields, "name")
    if name is None:
        raise _invalid("", "Name", "This field is required.")
    if not NAME_RE.match(name):
        raise _invalid(
            name,
            "Name",
            "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'.",
        )
    if len(name) > PypiAdapter.max_name_length:
        raise _invalid(
            name[:40] + "...", "Name", f"The name is {len(name)} characters long; the limit is {PypiAdapter.max_name_length}."
        )
    raw_version = _single(fields, "version")
    if raw_version is None:
        raise _invalid("", "Version", "This field is required.")
    if len(raw_version) > PypiAdapter.max_version_length:
        raise _invalid(
            raw_version[:40] + "...",
            "Version",
            f"The version is {len(raw_version)} characters long; the limit is {PypiAdapter.max_version_length}.",
        )
    try:
        version = Version(raw_version)
    except InvalidVersion:
        raise _invalid(
            raw_version, "Version", "Use a valid PEP 440 version (for example '1.0', '2.1.0rc1')."
        ) from None
    if version.local is not None:
        raise _invalid(raw_version, "Version", f"The use of local versions in '{raw_version}' is not allowed.")

    filetype = _single(fields, "filetype")
    if filetype not in ("sdist", "bdist_wheel"):
        raise UploadError(400, "Invalid value for filetype. Error: Use a known file type ('sdist' or 'bdist_wheel').")
    pyversion = _single(fields, "pyversion")
    if filetype == "bdist_wheel" and not pyversion:
        raise UploadError(400, "Invalid value for pyversion. Error: Python version is required for binary distribution uploads.")
    if filetype == "sdist":
        if pyversion is None:
            pyversion = "source"
        elif pyversion != "source":
            raise UploadError(400, "Invalid value for pyversion. Error: Use 'source' as Python version for an sdist.")

    digests = {key: _digest(fields, key) for key in ("md5_digest", "sha256_digest", "blake2_256_digest")}
    if not any(digests.values()):
        raise UploadError(400, "Include at least one message digest.")

    metadata = _form_metadata(fields, metadata_version, name, raw_version)
    return UploadForm(
        name=name,
        version=version,
        metadata_version=metadata_version,
        filetype=filetype,
        pyversion=pyversion or "",
        md5_digest=digests["md5_digest"],
        sha256_digest=digests["sha256_digest"],
        blake2_256_digest=digests["blake2_256_digest"],
        comment=_single(fields, "comment"),
        metadata=metadata,
    )
