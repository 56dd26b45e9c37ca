"""A full disk for real (blob storage on a small tmpfs): an upload that does not fit, and every
upload or push while the disk is full, answers 507 Insufficient Storage with the reason — no 500,
no partial file left — while reads go on; once space is freed the next upload succeeds."""

from __future__ import annotations

import base64
import hashlib
import os

import httpx

from tests.faults.faultkit import SCOPES, fill, gem_file, gem_push, require_ruby, small_disk
from tests.pypi.pypi_clients import http_upload, twine_upload
from tests.pypi.pypi_dists import build_wheel
from tests.rubygems.gemtools import RubyEnv, craft_gem
from tests.support.server import start_server

FULL = "Insufficient storage"


def _leftovers(disk) -> list[str]:
    return sorted(str(p.relative_to(disk)) for p in disk.rglob("*.part"))


def test_a_full_disk_answers_507_keeps_serving_reads_and_recovers_when_space_is_freed(tmp_path):
    require_ruby()
    with small_disk(tmp_path / "disk", "8m") as disk:
        server = start_server(tmp_path / "server", extra_env={"PACKYARD_STORAGE_URL": disk.as_uri()})
        try:
            _run(server, disk, tmp_path)
        finally:
            server.stop()
            server.backend.drop()


def _run(server, disk, tmp_path) -> None:
    token = server.mint_token(*SCOPES)
    dists = tmp_path / "dists"
    dists.mkdir()
    first = build_wheel(dists, "roomy", "1.0")
    assert http_upload(server.url, token, first, "roomy", "1.0").status_code == 200
    assert gem_push(server.url, token, craft_gem("roomy-gem", "1.0.0")).status_code == 200

    # an upload larger than the free space: twine shows the reason in the status line
    big_code = "DATA = " + repr(base64.b64encode(os.urandom(9 * 1024 * 1024)).decode()) + "\n"
    big = build_wheel(dists, "roomy", "2.0", module_code=big_code)
    twine = twine_upload(server.url, [big], tmp_path / "home", "__token__", token)
    output = " ".join((twine.stdout + twine.stderr).split())
    assert twine.returncode != 0 and "507" in output and FULL in output, output
    assert _leftovers(disk) == []

    # while the disk is full every upload and push fails the same clean way
    filler = fill(disk)
    small = build_wheel(dists, "roomy", "1.1")
    refused = http_upload(server.url, token, small, "roomy", "1.1")
    assert refused.status_code == 507 and FULL in refused.text, (refused.status_code, refused.text)
    ruby = RubyEnv(tmp_path / "ruby")
    host = f"{server.url}/rubygems"
    gem = gem_file(tmp_path / "gems", "roomy-gem-1.1.0.gem", craft_gem("roomy-gem", "1.1.0"))
    pushed = ruby.run(["gem", "push", str(gem), "--host", host], check=False, GEM_HOST_API_KEY=token)
    assert pushed.returncode != 0 and FULL in pushed.stdout, pushed.stdout + pushed.stderr
    assert _leftovers(disk) == []

    # reads are unaffected
    page = httpx.get(f"{server.url}/pypi/simple/roomy/", timeout=30)
    assert page.status_code == 200 and first.name in page.text and "roomy-1.1" not in page.text
    download = httpx.get(f"{server.url}/pypi/files/roomy/{first.name}", timeout=30)
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(first.read_bytes()).digest()
    info = httpx.get(f"{host}/info/roomy-gem", timeout=30)
    assert info.status_code == 200 and "1.0.0 " in info.text and "1.1.0" not in info.text
    ready = httpx.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 200 and "storage" in ready.json()["degraded"]

    # space freed: the next upload and push succeed, no restart
    filler.unlink()
    assert http_upload(server.url, token, small, "roomy", "1.1").status_code == 200
    pushed = ruby.run(["gem", "push", str(gem), "--host", host], GEM_HOST_API_KEY=token)
    assert "Successfully registered gem: roomy-gem (1.1.0)" in pushed.stdout
    page = httpx.get(f"{server.url}/pypi/simple/roomy/", timeout=30).text
    assert first.name in page and small.name in page
    assert "degraded" not in httpx.get(f"{server.url}/readyz", timeout=30).json()
    assert "Traceback" not in server.log()
