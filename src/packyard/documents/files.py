"""Documents as files under the data directory.

- `<data_dir>/documents/<ecosystem>/<key>`: the store's copy of every document (public or not),
  a JSON header line then the body; a removal leaves a tombstone, so a late write-through of an
  older serial never brings a document back. A reader validates its memo with one `stat`.
  An append-only document, once appended to, keeps its body in a sibling `.packyard-body-<name>-<n>`
  that only grows (appended and fsynced first), and its copy is the header alone, naming that file
  and the body's length (replaced atomically after): an append writes O(its bytes), and a reader
  reads exactly the length its header names, so it never sees a partial append.
- `<data_dir>/public/<ecosystem>/<key>` and `<data_dir>/public-etags/<ecosystem>/<key>.etag`: the
  public documents of a public registry laid out by URL for a static front server (nginx), with
  beside each its `.etag` sidecar: the exact ETag header value, then on a second line the body's
  sha-256 in base64 (the compact index sends it as `Digest` and `Repr-Digest`); `blob` documents
  become relative symlinks to the blob file (local blob storage only). Nothing private is ever
  written there.
- `<data_dir>/public-etags/.generation`: 8 bytes rewritten in place with a new random value after
  every change of a `.etag` (created once, never replaced). The nginx front maps it and reads its
  cached ETags again only when it moved (deploy/nginx/, docs/nginx.md).

Every file is replaced atomically (temp file, fsync, `os.replace`); a document's body is written
before its `.etag` and removed before it. The exception: an append-only document's public file
grows in place by the appended bytes (fsynced before its new `.etag`), when its `.etag` says it
holds the document just before the append, as a static front serves Range requests from it. Writers of one ecosystem take an `flock`, and a copy is
only replaced by a newer serial.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from packyard.documents.stored import BLOB, BODY_PREFIX, DOCUMENT, TEMP_PREFIX, StoredDocument
from packyard.http.serve import static_etag_mtime

Stamp = tuple[int, int, int]
GENERATION = ".generation"
GENERATION_BYTES = 8
BlobPath = Callable[[str], Path]


def _temp_beside(path: Path) -> Path:
    """A temporary name in the same directory, unique to this process and thread."""
    return path.parent / f"{TEMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{path.name}"


def write_atomic(path: Path, data: bytes, mtime: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        if mtime is not None:
            os.utime(handle.fileno(), (mtime, mtime))
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def link_atomic(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    relative = os.path.relpath(target, path.parent)
    try:
        if os.readlink(path) == relative:
            return
    except OSError:
        pass
    tmp = _temp_beside(path)
    tmp.unlink(missing_ok=True)
    os.symlink(relative, tmp)
    os.replace(tmp, path)


def _read_whole(path: str) -> tuple[os.stat_result, bytes]:
    """The file's stat and its bytes, through one descriptor (no buffered reader: this runs on the
    first read of every document after a start)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        data = os.read(fd, st.st_size + 1)  # a directory: IsADirectoryError
        if len(data) > st.st_size:  # grew after the stat (copies are replaced, never written in place)
            parts = [data]
            while chunk := os.read(fd, 1 << 20):
                parts.append(chunk)
            data = b"".join(parts)
        return st, data
    finally:
        os.close(fd)


def unlink(path: Path) -> bool:
    """Remove the file; False when there was none."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def move_generation(path: Path) -> None:
    """Give `.generation` a new random value, in place: readers map the file, so it is created once
    (linked into place complete, never replaced) and then only overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        _create_generation(path)
        return
    try:
        os.pwrite(fd, os.urandom(GENERATION_BYTES), 0)
    finally:
        os.close(fd)


def _create_generation(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    try:
        tmp.write_bytes(os.urandom(GENERATION_BYTES))
        os.link(tmp, path)
    except FileExistsError:  # another process made it meanwhile: move that one
        move_generation(path)
    finally:
        tmp.unlink(missing_ok=True)


class DocumentFiles:
    def __init__(self, data_dir: Path, blob_path: BlobPath | None):
        self.copies = data_dir / "documents"
        self._copies_prefix = f"{self.copies}{os.sep}"  # string joins: pathlib costs more than the stat
        self.public = data_dir / "public"
        self.etags = data_dir / "public-etags"
        self.generation = self.etags / GENERATION
        self.blob_path = blob_path  # None: blobs are not local files, so no download links
        self._lock = threading.Lock()

    # -- the store's copies ----------------------------------------------------------------------

    def _copy(self, ecosystem: str, key: str) -> Path:
        return self.copies / ecosystem / key

    def stamp(self, ecosystem: str, key: str) -> Stamp | None:
        try:
            st = os.stat(f"{self._copies_prefix}{ecosystem}/{key}")  # on every read
        except (FileNotFoundError, NotADirectoryError, ValueError):  # ValueError: a NUL byte
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def read(self, ecosystem: str, key: str) -> tuple[Stamp, StoredDocument] | None:
        """The copy and the stamp it was read at (stat of the open file, so the two agree)."""
        path = f"{self._copies_prefix}{ecosystem}/{key}"  # os calls on a string: a first read of each page after a start
        for _attempt in range(5):
            try:
                st, raw = _read_whole(path)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return None
            meta, body = StoredDocument.split(raw)
            if "body_file" in meta:
                try:
                    with open(os.path.join(os.path.dirname(path), meta["body_file"]), "rb") as handle:
                        body = handle.read(meta["length"])
                except FileNotFoundError:
                    continue  # replaced by a rewrite meanwhile: read the new header
                if len(body) != meta["length"]:
                    continue
            return (st.st_ino, st.st_mtime_ns, st.st_size), StoredDocument.from_parts(meta, body)
        return None

    def _header_of_copy(self, path: Path) -> dict | None:
        try:
            with open(path, "rb") as handle:
                return StoredDocument.split(handle.readline())[0]
        except (FileNotFoundError, NotADirectoryError, ValueError, KeyError):
            return None

    def _drop_body_file(self, path: Path, meta: dict | None, keep: str | None = None) -> None:
        if meta is not None and meta.get("body_file") and meta["body_file"] != keep:
            unlink(path.parent / meta["body_file"])

    def _grow_copy(self, path: Path, doc: StoredDocument, etag_before: str, piece: bytes) -> bool:
        """Append `piece` to the copy's body file when the copy holds the document just before
        (a copy still in one file is split first: once, O(body)); False otherwise."""
        meta = self._header_of_copy(path)
        if meta is None or meta.get("etag") != etag_before or meta.get("kind") != doc.kind:
            return False
        length = len(doc.body) - len(piece)
        if "body_file" in meta:
            body_path = path.parent / meta["body_file"]
            if meta["length"] != length:
                return False
            try:
                with open(body_path, "r+b") as handle:
                    handle.truncate(length)  # bytes a crash left after the last header
                    handle.seek(length)
                    handle.write(piece)
                    handle.flush()
                    os.fsync(handle.fileno())
            except FileNotFoundError:
                return False
        else:
            body_path = path.parent / f"{BODY_PREFIX}{path.name}-{doc.serial}"
            write_atomic(body_path, doc.body)
        write_atomic(path, doc.encode_header(body_file=body_path.name, length=len(doc.body)))
        return True

    @contextmanager
    def locked(self, ecosystem: str) -> Iterator[None]:
        """Serializes writers of one ecosystem, across processes."""
        directory = self.copies / ecosystem
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.copies / f".{ecosystem}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def write(self, ecosystem: str, key: str, doc: StoredDocument, *, materialize: bool, lazy: bool = False,
              grow: tuple[str, bytes] | None = None) -> bool:
        """Write the copy (a tombstone for a removal) unless a newer serial is there already, and
        put the public file in step; False when a newer copy won. Call inside `locked(ecosystem)`.
        `lazy` (start-up sync): leave files that already say the same. `grow` (ETag before, bytes
        appended): `doc` is an append to a document, so its public file may grow in place."""
        path = self._copy(ecosystem, key)
        previous = self._header_of_copy(path)
        current = None if previous is None else previous.get("serial")
        if current is not None and current > doc.serial:
            return False
        if grow is not None and current != doc.serial and self._grow_copy(path, doc, *grow):
            pass
        elif current != doc.serial or not lazy:
            write_atomic(path, doc.encode())
            self._drop_body_file(path, previous)
        if materialize and grow is not None and self._grow_public(ecosystem, key, doc, *grow):
            return True
        self.materialize(ecosystem, key, doc if materialize else None, lazy=lazy)
        return True

    def _grow_public(self, ecosystem: str, key: str, doc: StoredDocument, etag_before: str, piece: bytes) -> bool:
        """Append `piece` to the public file when it holds exactly the body before it; False otherwise."""
        body_path, etag_path = self.public_path(ecosystem, key), self.etag_path(ecosystem, key)
        if doc.kind != DOCUMENT or _sidecar_etag(etag_path) != etag_before.encode("ascii"):
            return False
        try:
            with open(body_path, "r+b") as handle:
                if os.fstat(handle.fileno()).st_size != len(doc.body) - len(piece):
                    return False
                handle.seek(0, os.SEEK_END)
                handle.write(piece)
                handle.flush()
                os.fsync(handle.fileno())
        except FileNotFoundError:
            return False
        write_atomic(etag_path, sidecar(doc))
        move_generation(self.generation)
        return True

    def discard(self, ecosystem: str, key: str) -> None:
        """Forget a copy that has no row (start-up sync); readers then ask the database."""
        path = self._copy(ecosystem, key)
        self._drop_body_file(path, self._header_of_copy(path))
        unlink(path)
        self.materialize(ecosystem, key, None)

    def copy_keys(self, ecosystem: str) -> Iterator[str]:
        yield from _relative_files(self.copies / ecosystem)

    # -- the public tree for nginx ---------------------------------------------------------------

    def public_path(self, ecosystem: str, key: str) -> Path:
        return self.public / ecosystem / key

    def etag_path(self, ecosystem: str, key: str) -> Path:
        return self.etags / ecosystem / f"{key}.etag"

    def materialize(self, ecosystem: str, key: str, doc: StoredDocument | None, *, lazy: bool = False) -> None:
        """Put `public/<ecosystem>/<key>` and its `.etag` in step with `doc` (None or not
        materializable: remove them, body first)."""
        body_path, etag_path = self.public_path(ecosystem, key), self.etag_path(ecosystem, key)
        if doc is None or doc.kind not in (DOCUMENT, BLOB) or (doc.kind == BLOB and self.blob_path is None):
            unlink(body_path)
            if unlink(etag_path):
                move_generation(self.generation)
            _prune(body_path.parent, self.public)
            _prune(etag_path.parent, self.etags)
            return
        mtime = static_etag_mtime(doc.etag, len(doc.body)) if doc.kind == DOCUMENT else None
        wanted = sidecar(doc)
        if lazy and _reads(etag_path) == wanted and _has_mtime(body_path, mtime):
            return
        if doc.kind == BLOB:
            link_atomic(body_path, self.blob_path(doc.blob[0]))
        else:
            write_atomic(body_path, doc.body, mtime)  # a static ETag: nginx computes it from the mtime
        write_atomic(etag_path, wanted)
        move_generation(self.generation)

    def public_keys(self, ecosystem: str) -> Iterator[str]:
        yield from _relative_files(self.public / ecosystem)
        for key in _relative_files(self.etags / ecosystem):
            if key.endswith(".etag"):
                yield key[: -len(".etag")]


def _prune(directory: Path, root: Path) -> None:
    """Remove directories left empty below `<root>/<ecosystem>/` (a project that left public/)."""
    while directory.parent != root and directory != root:
        try:
            directory.rmdir()
        except OSError:  # not empty (or gone)
            return
        directory = directory.parent


def _has_mtime(path: Path, mtime: int | None) -> bool:
    """The file exists (and has `mtime`, when one is wanted)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return mtime is None or int(st.st_mtime) == mtime


def sidecar(doc: StoredDocument) -> bytes:
    """A public file's `.etag` sidecar: its ETag header value, then its body's sha-256 in base64."""
    sha256 = bytes.fromhex(doc.blob[0]) if doc.kind == BLOB else hashlib.sha256(doc.body).digest()
    return doc.etag.encode("ascii") + b"\n" + base64.b64encode(sha256)


def _sidecar_etag(path: Path) -> bytes | None:
    """The ETag a `.etag` sidecar holds (its first line)."""
    held = _reads(path)
    return None if held is None else held.partition(b"\n")[0]


def _reads(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _relative_files(root: Path) -> Iterator[str]:
    if not root.is_dir():
        return
    for directory, _dirs, names in os.walk(root):
        for name in names:
            if name.startswith((TEMP_PREFIX, BODY_PREFIX)):
                continue
            yield os.path.relpath(os.path.join(directory, name), root)
