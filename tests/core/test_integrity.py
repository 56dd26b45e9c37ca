"""`packyard check` and `packyard gc` on a real server's data (embedded default: local blobs)."""

from __future__ import annotations

import hashlib
import os
import pty
import subprocess
import sys
import time

import httpx

from sqlmodel import select

from packyard.models import Document, DocumentSegment
from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.rubygems.gemtools import craft_gem
from tests.support.backends import new_backend


def _publish_some(server, tmp_path) -> tuple[str, str]:
    """A wheel and two gems (one yanked); returns (wheel sha256, gem sha256)."""
    token = server.mint_token("admin", user="root")
    wheel = build_wheel(tmp_path, "checked", "1.0")
    assert http_upload(server.url, token, wheel, "checked", "1.0").status_code == 200
    gems = [craft_gem("checked-gem", "1.0"), craft_gem("checked-gem", "1.1"), craft_gem("other-gem", "0.1")]
    for gem in gems:
        pushed = httpx.post(f"{server.url}/rubygems/api/v1/gems", content=gem, headers={"Authorization": token})
        assert pushed.status_code == 200, pushed.text
    yanked = httpx.request("DELETE", f"{server.url}/rubygems/api/v1/gems/yank", data={"gem_name": "checked-gem", "version": "1.1"},
                           headers={"Authorization": token})
    assert yanked.status_code == 200, yanked.text
    return hashlib.sha256(wheel.read_bytes()).hexdigest(), hashlib.sha256(gems[0]).hexdigest()


def _check_on_a_terminal(server) -> str:
    """`packyard check` with stdout on a pseudo-terminal; what the terminal showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "packyard", "check"], env=server.env, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=120) == 0, shown
    return shown.decode(errors="replace")


def _blob_path(server, sha256: str):
    return server.data_dir / "blobs" / sha256[:2] / sha256[2:4] / sha256


def test_check_passes_on_sound_data_and_names_a_corrupt_or_missing_blob(server_factory, tmp_path):
    server = server_factory(backend=new_backend(local_blobs=True))
    wheel_sha, gem_sha = _publish_some(server, tmp_path)
    ok = server.cli("check", check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "checked 4 blobs of 4 files" in ok.stdout and "no problems" in ok.stdout
    assert "checking blobs" not in ok.stdout  # no progress bar when stdout is not a terminal
    on_terminal = _check_on_a_terminal(server)
    assert "checking blobs" in on_terminal and "100%" in on_terminal and "no problems" in on_terminal

    path = _blob_path(server, wheel_sha)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    _blob_path(server, gem_sha).unlink()
    bad = server.cli("check", check=False)
    assert bad.returncode == 1
    assert f"blob {wheel_sha} (file pypi:checked-1.0-py3-none-any.whl) is corrupt" in bad.stdout
    assert f"blob {gem_sha} (file rubygems:checked-gem-1.0.gem) is missing from storage" in bad.stdout
    assert bad.stdout.rstrip().endswith("2 problems")

    path.write_bytes(bytes(data[:-1]))  # truncated: the size is named
    assert "bytes in storage" in server.cli("check", check=False).stdout


def test_check_finds_stored_documents_that_differ_from_a_fresh_render(server_factory, tmp_path):
    server = server_factory(backend=new_backend(local_blobs=True))
    _publish_some(server, tmp_path)
    assert httpx.get(server.url + "/rubygems/names").status_code == 200  # rendered now, not in the background
    registry = server.registry()
    with registry.db.write() as session:
        info = session.get(Document, ("rubygems", "info/other-gem"))
        info.body += b"9.9 |checksum:00\n"
        session.add(info)
        names = session.get(Document, ("rubygems", "names"))
        names.body = b"---\nghost\n"
        session.add(names)
        # the yank's line is a segment appended to /versions (docs/architecture.md, "Append-only documents")
        segments = session.exec(select(DocumentSegment).where(DocumentSegment.key == "versions")).all()
        yank = next(s for s in segments if b"checked-gem -1.1 " in s.body)
        yank.body = yank.body.replace(b"checked-gem -1.1 ", b"checked-gem -1.1 0")[:-2] + b"\n"  # a wrong MD5
        session.add(yank)
    result = server.cli("check", check=False)
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem: ")]
    assert "problem: rubygems: /info/other-gem differs from a fresh render of its 1 indexed file(s)" in problems
    assert "problem: rubygems: /names differs from a fresh render of the public gems" in problems
    assert any("/versions ends 'checked-gem' with MD5 0" in p and "but its /info has MD5" in p for p in problems)
    assert any("/versions ends 'other-gem'" in p for p in problems)  # its /info changed under it
    assert len(problems) == 4, problems


def test_gc_lists_and_removes_only_old_unreferenced_blobs(server_factory, tmp_path):
    server = server_factory(backend=new_backend(local_blobs=True))
    wheel_sha, gem_sha = _publish_some(server, tmp_path)
    storage = server.registry().storage
    old_orphan = storage.stage_sync([b"left behind by a crash"], max_bytes=None)
    young_orphan = storage.stage_sync([b"a publish still in flight"], max_bytes=None)
    assert storage.keep(old_orphan) and storage.keep(young_orphan)
    two_hours_ago = time.time() - 7200
    for sha in (old_orphan.sha256, wheel_sha, gem_sha):  # old, but the published ones are referenced
        os.utime(_blob_path(server, sha), (two_hours_ago, two_hours_ago))

    listed = server.cli("gc")
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [old_orphan.sha256]
    assert "1 unreferenced blob(s) older than 1h" in listed.stderr and "1 younger one(s) kept" in listed.stderr and "4 in use" in listed.stderr
    assert _blob_path(server, old_orphan.sha256).exists()  # listing removes nothing

    removed = server.cli("gc", "--delete")
    assert removed.stdout.splitlines() == [listed.stdout.splitlines()[0] + "\tremoved"]
    assert not _blob_path(server, old_orphan.sha256).exists()
    assert _blob_path(server, young_orphan.sha256).exists()
    assert server.cli("check").returncode == 0  # every referenced blob is still there

    shorter = server.cli("gc", "--grace", "0s", "--delete")
    [line] = shorter.stdout.splitlines()
    assert line.startswith(f"{young_orphan.sha256}\t{young_orphan.size}\t") and line.endswith("\tremoved")
    assert server.cli("check").returncode == 0
    assert "is not a duration" in server.cli("gc", "--grace", "soon", check=False).stderr


def test_an_orphan_kept_again_by_a_publish_is_young_again(server_factory, tmp_path):
    """A crash left the blob; a later upload of the same bytes reuses it. gc must not take it."""
    server = server_factory(backend=new_backend(local_blobs=True))
    token = server.mint_token("admin", user="root")
    wheel = build_wheel(tmp_path, "reused", "1.0")
    storage = server.registry().storage
    orphan = storage.stage_sync([wheel.read_bytes()], max_bytes=None)
    assert storage.keep(orphan)
    os.utime(_blob_path(server, orphan.sha256), (time.time() - 7200,) * 2)
    assert http_upload(server.url, token, wheel, "reused", "1.0").status_code == 200
    assert time.time() - _blob_path(server, orphan.sha256).stat().st_mtime < 600
    assert server.cli("gc", "--delete").stdout == ""
    assert httpx.get(f"{server.url}/pypi/files/reused/{wheel.name}").content == wheel.read_bytes()
