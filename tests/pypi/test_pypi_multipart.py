"""Streaming multipart parsing of uploads: fields in memory, the file part in chunks."""

import asyncio

import pytest

from packyard_pypi.upload.multipart import MultipartUpload
from packyard_pypi.upload.form import UploadError

BOUNDARY = "xYzZY"


def _body(parts, close=True):
    out = b""
    for name, value, filename, ctype in parts:
        out += f"--{BOUNDARY}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += disposition.encode() + b"\r\n"
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + value + b"\r\n"
    if close:
        out += f"--{BOUNDARY}--\r\n".encode()
    return out


async def _chunks(data, size):
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _read(body, chunk_size=7):
    upload = MultipartUpload(f"multipart/form-data; boundary={BOUNDARY}", _chunks(body, chunk_size))
    found = await upload.seek_content()
    content = b""
    if found:
        async for chunk in upload.content():
            assert len(chunk) <= chunk_size + len(BOUNDARY) + 8  # bounded: never the whole file
            content += chunk
    await upload.finish()
    return upload, found, content


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 100000])
def test_fields_and_streamed_file(chunk_size):
    payload = bytes(range(256)) * 40 + b"\r\n--almost-boundary\r\n"
    body = _body(
        [
            ("name", b"demo", None, None),
            ("requires_dist", b"a", None, None),
            ("requires_dist", "b \u00e9".encode(), None, None),
            ("content", payload, "demo-1.0.tar.gz", None),  # uv sends no Content-Type
            ("after", b"late field", None, None),
        ]
    )
    upload, found, content = asyncio.run(_read(body, chunk_size))
    assert found and content == payload
    assert upload.filename == "demo-1.0.tar.gz" and upload.file_content_type is None
    assert upload.fields == {"name": ["demo"], "requires_dist": ["a", "b \u00e9"], "after": ["late field"]}


def test_no_file_part():
    upload, found, content = asyncio.run(_read(_body([("name", b"demo", None, None)])))
    assert not found and content == b""


def test_truncated_body():
    body = _body([("content", b"x" * 100, "a.whl", "application/octet-stream")], close=False)[:-20]
    with pytest.raises(UploadError, match="ended before"):
        asyncio.run(_read(body))


def test_file_in_another_field():
    with pytest.raises(UploadError, match="summary: Should not be a tuple."):
        asyncio.run(_read(_body([("summary", b"x", "x.txt", None)])))


def test_two_files():
    body = _body([("content", b"a", "a.whl", None), ("content", b"b", "b.whl", None)])
    with pytest.raises(UploadError, match="more than one 'content'"):
        asyncio.run(_read(body))


def test_not_multipart():
    with pytest.raises(UploadError, match="multipart/form-data"):
        MultipartUpload("application/json", _chunks(b"{}", 2))
