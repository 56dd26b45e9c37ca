"""RubyGems' own gem_server_conformance suite against a fresh packyard server (issue 6).

The suite lives outside this repository (`PACKYARD_GEM_CONFORMANCE_DIR`, which `.ci/run` points at
`../shared/peer/gem_server_conformance`). On the embedded default it runs against one worker; on
PostgreSQL + Redis against two, so the set clock and the `/versions` appends must hold across
processes. It runs once against the app and once through the nginx front.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.rubygems.conftest import on_postgres, require_ruby
from tests.support.backends import new_backend
from tests.support.nginx import start_nginx
from tests.support.server import RunningServer

SUMMARY = re.compile(r"^(\d+) examples?, (\d+) failures?", re.MULTILINE)


def conformance_dir() -> Path:
    configured = os.environ.get("PACKYARD_GEM_CONFORMANCE_DIR")
    if not configured:
        if os.environ.get("CI") == "true":
            pytest.fail("PACKYARD_GEM_CONFORMANCE_DIR is not set: CI must run the gem_server_conformance suite")
        pytest.skip("PACKYARD_GEM_CONFORMANCE_DIR is not set")
    path = Path(configured)
    if not (path / "exe" / "gem_server_conformance").is_file():
        pytest.fail(f"PACKYARD_GEM_CONFORMANCE_DIR={configured} does not hold the gem_server_conformance suite")
    return path


@pytest.mark.parametrize("through", ["app", "nginx front"])
def test_gem_server_conformance_suite_passes(server_factory, tmp_path: Path, through: str) -> None:
    """Through the app, and through the nginx front (deploy/nginx/), which answers the compact index,
    specs, gemspecs and `.gem` files from disk and passes pushes, yanks and the suite's hooks on."""
    suite = conformance_dir()
    require_ruby()
    workers = 2 if on_postgres() else 1
    backend = {"backend": new_backend(local_blobs=True)} if through == "nginx front" else {}
    server = server_factory(workers=workers, extra_env={"PACKYARD_TEST_HOOKS": "true"}, **backend)
    nginx = start_nginx(server, tmp_path / "nginx") if through == "nginx front" else None
    try:
        _run_suite(suite, server, nginx.url if nginx else server.url, tmp_path, f"{workers} worker(s), through the {through}")
    finally:
        if nginx is not None:
            nginx.stop()


def _run_suite(suite: Path, server: RunningServer, url: str, tmp_path: Path, setting: str) -> None:
    token = server.mint_token("rubygems:gem:*:write", "rubygems:gem:*:yank", user="conformance")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
    env.update({"HOME": str(home), "UPSTREAM": f"{url}/rubygems", "GEM_HOST_API_KEY": token})
    log = tmp_path / "conformance.log"
    with log.open("w") as out:
        result = subprocess.run(
            ["ruby", f"-I{suite / 'lib'}", str(suite / "exe" / "gem_server_conformance"), "--format", "progress"],
            env=env, stdout=out, stderr=subprocess.STDOUT, timeout=900,
        )
    output = log.read_text(errors="replace")
    summary = SUMMARY.search(output)
    assert summary, f"no rspec summary (exit {result.returncode}):\n{output[-3000:]}"
    examples, failures = int(summary[1]), int(summary[2])
    failed = "\n".join(line[:300] for line in output.splitlines() if line.startswith("rspec "))[:6000]
    assert failures == 0, f"{summary[0]} ({setting}); failing examples:\n{failed}\nserver log tail:\n{server.log()[-2000:]}"
    assert examples >= 600, f"the suite ran only {summary[0]}: is {suite} complete?"
    assert result.returncode == 0
