"""Peak memory of a server while it receives a large upload: uploads stream to disk, so the
server's peak RSS must not grow with the file.

    python bench/upload_memory.py [--megabytes 300]

Target (bench/README.md): peak RSS grows by less than 64 MiB for a 300 MiB wheel, for both
twine-style multipart (PyPI) and a raw-body `gem push`-style upload.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import zipfile
from pathlib import Path

import httpx
from _harness import discard, start, tempdir


def peak_rss_kib(pid: int) -> int:
    """VmHWM of the process and its children (uvicorn runs the app in the serving process)."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]))
        except FileNotFoundError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def big_wheel(directory: Path, megabytes: int) -> Path:
    path = directory / "big_upload-1.0-py3-none-any.whl"
    meta = b"Metadata-Version: 2.1\nName: big-upload\nVersion: 1.0\n"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        with archive.open("big_upload/blob.bin", "w", force_zip64=True) as member:
            chunk = os.urandom(1024 * 1024)
            for _ in range(megabytes):
                member.write(chunk)
        archive.writestr("big_upload-1.0.dist-info/METADATA", meta)
        archive.writestr("big_upload-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("big_upload-1.0.dist-info/RECORD", b"")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=300)
    args = parser.parse_args()
    workdir = tempdir()
    server = start(workdir, extra_env={"PACKYARD_MAX_UPLOAD_BYTES": str(2 * 1024**3)})
    try:
        token = server.mint_token("pypi:package:*:write", "rubygems:gem:*:write", user="bench")
        wheel = big_wheel(workdir, args.megabytes)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        before = peak_rss_kib(server.process.pid)
        with open(wheel, "rb") as handle:
            response = httpx.post(
                server.url + "/pypi/legacy/", auth=("__token__", token), timeout=600,
                data={":action": "file_upload", "protocol_version": "1", "name": "big-upload", "version": "1.0",
                      "filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1", "sha256_digest": digest},
                files={"content": (wheel.name, handle, "application/octet-stream")},
            )
        after_pypi = peak_rss_kib(server.process.pid)
        with open(wheel, "rb") as handle:  # not a gem: refused after streaming, which is what we measure
            gem = httpx.post(server.url + "/rubygems/api/v1/gems", headers={"Authorization": token}, content=handle, timeout=600)
        after_gem = peak_rss_kib(server.process.pid)
        print(f"upload size                {wheel.stat().st_size / 2**20:8.0f} MiB")
        print(f"pypi upload status         {response.status_code:8d}")
        print(f"peak RSS before            {before / 1024:8.1f} MiB")
        print(f"peak RSS after pypi upload {after_pypi / 1024:8.1f} MiB  (+{(after_pypi - before) / 1024:.1f})")
        print(f"peak RSS after raw push    {after_gem / 1024:8.1f} MiB  (+{(after_gem - after_pypi) / 1024:.1f}, status {gem.status_code})")
    finally:
        discard(server, workdir)


if __name__ == "__main__":
    main()
