"""bundler (Debian's `bundle`, and `bundle _2.3.15_` where installed) against a real server:
install, update through a Range request on /versions, yank, and a stale lockfile."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.rubygems.conftest import PUSH_SCOPES, push, require_ruby, yank
from tests.rubygems.gemtools import GemSource, RubyEnv, module_name


def bundler_commands() -> list[list[str]]:
    commands = [["bundle"]]
    try:
        probe = subprocess.run(["bundle", "_2.3.15_", "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return commands
    if probe.returncode == 0:
        commands.append(["bundle", "_2.3.15_"])
    return commands


BUNDLERS = bundler_commands()


def gemfile(project: Path, server, *gems: str) -> None:
    project.mkdir(parents=True, exist_ok=True)
    lines = [f'source "{server.url}/rubygems/"', *[f'gem "{g}"' for g in gems]]
    (project / "Gemfile").write_text("\n".join(lines) + "\n")


def locked(project: Path) -> dict[str, str]:
    text = (project / "Gemfile.lock").read_text()
    return dict(re.findall(r"^    ([\w.-]+) \(([^)]+)\)$", text, re.MULTILINE))


@pytest.mark.parametrize("bundle", BUNDLERS, ids=[" ".join(c) for c in BUNDLERS])
def test_bundle_install_update_yank_and_stale_lockfile(server, gem_builder, tmp_path, bundle) -> None:
    require_ruby()
    tag = "bundle" + "".join(ch for ch in "".join(bundle[1:]) if ch.isdigit())
    app, dep = f"{tag}-app", f"{tag}-dep"
    token = server.mint_token(*PUSH_SCOPES, user=f"bundler-{tag}")
    env = RubyEnv(tmp_path / "client")
    version = env.run([*bundle, "--version"]).stdout.strip()
    for src in (GemSource(dep, "1.0.0"), GemSource(dep, "1.2.0"), GemSource(app, "1.0.0", runtime=[(dep, ["~> 1.0"])])):
        assert push(server.url, token, gem_builder(src)).status_code == 200

    project = env.root / "project"
    gemfile(project, server, app)
    env.run([*bundle, "install"], cwd=project)
    assert locked(project) == {app: "1.0.0", dep: "1.2.0"}, version
    check = env.run([*bundle, "exec", "ruby", "-e", f'require "{app}"; puts {module_name(app)}::VERSION'],
                    cwd=project)
    assert check.stdout.strip() == "1.0.0"

    # a newer version: bundle update fetches only the new tail of /versions
    assert push(server.url, token, gem_builder(GemSource(app, "1.1.0", runtime=[(dep, ["~> 1.0"])]))).status_code == 200
    update = env.run([*bundle, "update", app, "--verbose"], cwd=project)
    assert locked(project)[app] == "1.1.0", version
    # bundler logs every answer it gets (Downloader#fetch): the server sent the tail with a 206
    assert f"HTTP 206 Partial Content {server.url}/rubygems/versions" in update.stdout, update.stdout[-3000:]

    # yank it: a fresh resolution (new BUNDLE_PATH, no lockfile) falls back to 1.0.0 ...
    stale_lock = (project / "Gemfile.lock").read_text()
    assert yank(server.url, token, app, "1.1.0").status_code == 200
    fresh = env.root / "fresh"
    gemfile(fresh, server, app)
    env.run([*bundle, "install"], cwd=fresh, BUNDLE_PATH=str(env.root / "bundle-fresh"))
    assert locked(fresh)[app] == "1.0.0", version

    # ... and the lockfile naming the yanked version is refused
    stale = env.root / "stale"
    gemfile(stale, server, app)
    (stale / "Gemfile.lock").write_text(stale_lock)
    refused = env.run([*bundle, "install"], cwd=stale, check=False, BUNDLE_PATH=str(env.root / "bundle-stale"))
    assert refused.returncode != 0, refused.stdout
    said = " ".join((refused.stdout + refused.stderr).split())
    assert f"locked to {app} (1.1.0)" in said and "can no longer be found in that source" in said, said[-2000:]
    assert httpx.get(f"{server.url}/rubygems/gems/{app}-1.1.0.gem").status_code == 404
