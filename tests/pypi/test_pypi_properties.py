"""Property-based tests of the PyPI upload parsers: whatever bytes arrive, the wheel and sdist
readers, the core-metadata parser, the filename parser, the upload-form validator and the multipart
reader end in a result or in their declared 4xx error (InvalidDistribution, UploadError), never an
unexpected exception; and what they accept holds no member that leaves the archive."""

from __future__ import annotations

import asyncio
import io
import posixpath
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packyard.models import limits
from packyard_pypi.distributions import (
    CoreMetadata,
    InvalidDistribution,
    parse_core_metadata,
    parse_filename,
    read_core_metadata,
)
from packyard_pypi.upload.multipart import MultipartUpload
from packyard_pypi.upload.form import UploadError, UploadForm, check_action, parse_upload_form
from tests.pypi.pypi_dists import build_sdist, build_wheel, core_metadata
from tests.support.properties import PARSER_SETTINGS, outcome

SEGMENT = st.sampled_from(["demo-1.0", "demo_1.0", "..", ".", "", "PKG-INFO", "x", "/", "a b", "\\", "é", "\x00"])
MEMBER_PATH = st.sampled_from(["demo-1.0/a", "demo-1.0/b/c", "demo-1.0/../x", "/abs", "demo-1.0"]) | \
    st.lists(SEGMENT, min_size=1, max_size=4).map("/".join)
LINK_TARGET = st.sampled_from(["a", "../a", "../../a", "/etc/passwd", "b/../../c", "demo-1.0/a"])
TAR_TYPES = st.sampled_from([tarfile.SYMTYPE, tarfile.LNKTYPE]) | st.sampled_from(
    [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE, b"Z"])


def _leaves(path: str) -> bool:
    normalized = posixpath.normpath(path)
    return path.startswith(("/", "\\")) or normalized == ".." or normalized.startswith("../")


def _read(tmp: Path, filename: str, data: bytes):
    path = tmp / "upload"
    path.write_bytes(data)
    return outcome(lambda: read_core_metadata(path, parse_filename(filename)), InvalidDistribution)


@PARSER_SETTINGS
@given(st.text(max_size=80))
def test_any_filename_parses_or_is_refused(filename):
    outcome(lambda: parse_filename(filename), InvalidDistribution)


@PARSER_SETTINGS
@given(st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_any_core_metadata_parses_or_is_refused(data):
    result = outcome(lambda: parse_core_metadata(data, "METADATA"), InvalidDistribution)
    if isinstance(result, CoreMetadata):
        assert result.name and str(result.version)


@PARSER_SETTINGS
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_wheel_or_sdist_are_refused_cleanly(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("bytes")
    _read(tmp, "demo-1.0-py3-none-any.whl", data)
    _read(tmp, "demo-1.0.tar.gz", data)


def _valid(tmp: Path, kind: str) -> bytes:
    build = build_wheel if kind == "wheel" else build_sdist
    return build(tmp, "demo", "1.0").read_bytes()


@PARSER_SETTINGS
@given(st.sampled_from(["wheel", "sdist"]), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
       st.integers(0, 10_000))
def test_damaged_distributions_are_refused_cleanly(tmp_path_factory, kind, flips, cut):
    tmp = tmp_path_factory.mktemp("damaged")
    data = bytearray(_valid(tmp, kind))
    for position, value in flips:
        data[position % len(data)] = value
    data = bytes(data[: max(1, len(data) - cut % len(data))])
    _read(tmp, "demo-1.0-py3-none-any.whl" if kind == "wheel" else "demo-1.0.tar.gz", data)


@PARSER_SETTINGS
@given(st.lists(st.tuples(MEMBER_PATH, TAR_TYPES, LINK_TARGET), max_size=3))
def test_an_accepted_sdist_has_no_member_leaving_it(tmp_path_factory, extra):
    tmp = tmp_path_factory.mktemp("sdist")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        data = core_metadata("demo", "1.0")
        info = tarfile.TarInfo("demo-1.0/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        for name, kind, linkname in extra:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, linkname
            archive.addfile(info)
    result = _read(tmp, "demo-1.0.tar.gz", out.getvalue())
    if isinstance(result, CoreMetadata):
        for name, kind, linkname in extra:
            assert not _leaves(name)
            assert kind not in (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)
            if kind == tarfile.SYMTYPE:
                assert not linkname.startswith("/") and not _leaves(posixpath.join(posixpath.dirname(name), linkname))
            if kind == tarfile.LNKTYPE:
                assert not _leaves(linkname)


@pytest.mark.filterwarnings("ignore:Duplicate name")  # duplicate entries are one more hostile input
@PARSER_SETTINGS
@given(st.lists(st.tuples(MEMBER_PATH, st.integers(0, 0o177777), st.binary(max_size=50)), max_size=4,
                unique_by=lambda entry: entry[0]))
def test_an_accepted_wheel_has_no_symlink_or_escaping_entry(tmp_path_factory, extra):
    tmp = tmp_path_factory.mktemp("wheel")
    entries = []
    for name, mode, data in extra:
        info = zipfile.ZipInfo(name or "x", date_time=(2024, 1, 1, 0, 0, 0))
        info.create_system, info.external_attr = 3, mode << 16
        entries.append((info, data))
    wheel = build_wheel(tmp, "demo", "1.0", extra_entries=tuple(entries))
    result = _read(tmp, wheel.name, wheel.read_bytes())
    if isinstance(result, CoreMetadata):
        for info, _data in entries:
            assert not _leaves(info.filename)
            assert (info.external_attr >> 16) & 0o170000 != 0o120000


FORM_KEYS = st.sampled_from([":action", "protocol_version", "name", "version", "metadata_version", "filetype",
                             "pyversion", "md5_digest", "sha256_digest", "blake2_256_digest", "summary", "comment",
                             "requires_dist", "classifiers", "project_urls", "keywords", "license_expression",
                             "requires_python", "description_content_type", "dynamic", "platform"])
FORM_VALUES = st.sampled_from(["file_upload", "1", "demo", "1.0", "2.1", "2.4", "sdist", "bdist_wheel", "source",
                               "py3", "a" * 64, "0" * 32, "UNKNOWN", "", ">=3.8", "Homepage, https://x", "MIT"]) | \
    st.text(max_size=30)


@PARSER_SETTINGS
@given(st.dictionaries(FORM_KEYS, st.lists(FORM_VALUES, min_size=1, max_size=2), max_size=12))
def test_any_upload_form_is_valid_or_refused_with_a_4xx(fields):
    def validate():
        check_action(fields)
        return parse_upload_form(fields)

    result = outcome(validate, UploadError)
    if isinstance(result, UploadError):
        assert 400 <= result.status < 500 and result.message
    else:
        assert isinstance(result, UploadForm)
        assert len(result.name) <= limits.DEFAULT_MAX_NAME_LENGTH
        assert limits.unstorable_reason(result.name) is None


async def _drain(content_type: str, body: bytes, chunk: int):
    async def chunks():
        for start in range(0, len(body), chunk):
            yield body[start:start + chunk]

    upload = MultipartUpload(content_type, chunks())
    if await upload.seek_content():
        async for _part in upload.content():
            pass
    await upload.finish()
    return upload


PART = st.tuples(st.sampled_from(["name", "version", "content", "gpg_signature", "", 'a"b']),
                 st.one_of(st.none(), st.sampled_from(["demo-1.0.tar.gz", ""])), st.binary(max_size=60))


@PARSER_SETTINGS
@given(st.lists(PART, max_size=5), st.sampled_from([b"--B\r\n", b"--B--\r\n", b"", b"--C--\r\n", b"\r\n"]),
       st.binary(max_size=40), st.integers(1, 64),
       st.sampled_from(["multipart/form-data; boundary=B", "multipart/form-data", "text/plain", ""]))
def test_any_multipart_body_is_read_or_refused_with_a_4xx(parts, ending, noise, chunk, content_type):
    body = b""
    for name, filename, value in parts:
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += b"--B\r\n" + disposition.encode() + b"\r\n\r\n" + value + b"\r\n"
    body += noise + ending
    result = outcome(lambda: asyncio.run(_drain(content_type, body, chunk)), UploadError)
    if isinstance(result, UploadError):
        assert 400 <= result.status < 500 and result.message
