"""RubyGems' own gem_server_conformance suite against a fresh packyard server (issue 6).

The suite lives outside this repository (`PACKYARD_GEM_CONFORMANCE_DIR`, which `.ci/run` points at
`../shared/peer/gem_server_conformance`). On the embedded default it runs against one worker; on
PostgreSQL + Redis against two, so the set clock and the `/versions` appends must hold across
processes.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.rubygems.conftest import on_postgres, require_ruby

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


def test_gem_server_conformance_suite_passes(server_factory, tmp_path: Path) -> None:
    suite = conformance_dir()
    require_ruby()
    workers = 2 if on_postgres() else 1
    server = server_factory(workers=workers, extra_env={"PACKYARD_TEST_HOOKS": "true"})
    token = server.mint_token("rubygems:gem:*:write", "rubygems:gem:*:yank", user="conformance")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
    env.update({"HOME": str(home), "UPSTREAM": f"{server.url}/rubygems", "GEM_HOST_API_KEY": token})
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
    assert failures == 0, f"{summary[0]} ({workers} worker(s)); failing examples:\n{failed}\nserver log tail:\n{server.log()[-2000:]}"
    assert examples >= 600, f"the suite ran only {summary[0]}: is {suite} complete?"
    assert result.returncode == 0
