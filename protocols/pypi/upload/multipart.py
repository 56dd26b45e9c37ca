"""Incremental reading of the upload's ``multipart/form-data`` body.

Small fields are collected in memory (with limits); the ``content`` part is handed on
chunk by chunk as it arrives, so a file of any size is streamed to blob storage without
being buffered whole.  Built on python-multipart's callback parser.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator

from python_multipart.multipart import MultipartParser, parse_options_header

from packyard_pypi.upload.form import UploadError

FILE_FIELD = "content"
# File parts clients may send next to `content`; read and dropped (PyPI ignores signatures).
IGNORED_FILE_FIELDS = ("gpg_signature",)
MAX_FIELD_BYTES = 4 * 1024 * 1024
MAX_TOTAL_FIELD_BYTES = 16 * 1024 * 1024


class MultipartUpload:
    """A multipart body being read: ``await seek_content()``, iterate ``content()``, ``await finish()``."""

    def __init__(self, content_type: str | None, body: AsyncIterator[bytes]) -> None:
        kind, params = parse_options_header(content_type or "")
        boundary = params.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise UploadError(
                400, "The upload must be a multipart/form-data request (as twine and uv send it)."
            )
        self.fields: dict[str, list[str]] = {}
        self.filename: str | None = None
        self.file_content_type: str | None = None
        self._body = body.__aiter__()
        self._pending: deque[bytes] = deque()
        self._error: UploadError | None = None
        self._field_bytes = 0
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._part_kind = ""  # "field", "file", "ignore"
        self._part_name = ""
        self._part_buffer = bytearray()
        self._file_parts = 0
        self._file_started = False
        self._file_done = False
        self._complete = False
        self._body_ended = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    # python-multipart callbacks -------------------------------------------------------
    def _fail(self, status: int, message: str) -> None:
        if self._error is None:
            self._error = UploadError(status, message)

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._part_buffer = bytearray()
        self._part_kind = ""

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = b""
        self._header_value = b""

    def _on_headers_finished(self) -> None:
        _disposition, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        self._part_name = name
        if name == FILE_FIELD:
            self._file_parts += 1
            if self._file_parts > 1:
                self._fail(400, "The upload has more than one 'content' file part; send one file per request.")
            self._part_kind = "file"
            self._file_started = True
            self.filename = filename.decode("utf-8", "replace") if filename is not None else ""
            content_type = self._headers.get(b"content-type")
            self.file_content_type = content_type.decode("latin-1") if content_type else None
        elif name in IGNORED_FILE_FIELDS:
            self._part_kind = "ignore"
        elif filename is not None:
            self._fail(400, f"{name}: Should not be a tuple.")
            self._part_kind = "ignore"
        else:
            self._part_kind = "field"

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part_kind == "file":
            if start < end:
                self._pending.append(bytes(data[start:end]))
        elif self._part_kind == "field":
            self._part_buffer += data[start:end]
            self._field_bytes += end - start
            if len(self._part_buffer) > MAX_FIELD_BYTES or self._field_bytes > MAX_TOTAL_FIELD_BYTES:
                self._fail(413, f"Form field '{self._part_name}' is too large (limit {MAX_FIELD_BYTES} bytes).")
                self._part_kind = "ignore"

    def _on_part_end(self) -> None:
        if self._part_kind == "file":
            self._file_done = True
        elif self._part_kind == "field":
            try:
                value = bytes(self._part_buffer).decode("utf-8")
            except UnicodeDecodeError:
                self._fail(400, f"Form field '{self._part_name}' is not valid UTF-8.")
                return
            self.fields.setdefault(self._part_name, []).append(value)

    def _on_end(self) -> None:
        self._complete = True

    # reading ----------------------------------------------------------------------------
    async def _feed(self) -> bool:
        """Parse the next chunk of the body; False once the body has ended."""
        if self._body_ended:
            return False
        chunk = await anext(self._body, None)
        if chunk is None:
            self._body_ended = True
            return False
        try:
            self._parser.write(chunk)
        except Exception as exc:  # python-multipart raises its own parse errors
            raise UploadError(400, f"Malformed multipart/form-data body: {exc}") from None
        if self._error is not None:
            raise self._error
        return True

    async def seek_content(self) -> bool:
        """Read fields until the ``content`` part starts; False if the body has none."""
        while not self._file_started:
            if not await self._feed():
                return False
        return True

    async def content(self) -> AsyncIterator[bytes]:
        """The bytes of the ``content`` part, as they arrive."""
        while True:
            while self._pending:
                yield self._pending.popleft()
            if self._file_done:
                return
            if not await self._feed():
                raise UploadError(400, "The upload ended before the file part was complete.")

    async def finish(self) -> None:
        """Read the rest of the body (fields sent after the file)."""
        while await self._feed():
            self._pending.clear()
        if not self._complete:
            raise UploadError(400, "Malformed multipart/form-data body: it ended before the closing boundary.")
