"""`gem signin`'s api_key endpoint and `gem owner` (shared/interface.md, RubyGems account endpoints)."""

from __future__ import annotations

import subprocess

import httpx
import yaml

from tests.rubygems.conftest import PUSH_SCOPES, push
from tests.rubygems.gemtools import GemSource, craft_gem


def test_api_key_with_password_returns_a_working_push_key(server) -> None:
    server.cli("user", "create", "signer", "--password", "s3cret-pass")
    url = f"{server.url}/rubygems/api/v1/api_key"
    assert httpx.post(url, auth=("signer", "wrong")).status_code == 401
    assert httpx.post(url).status_code == 401
    response = httpx.post(url, auth=("signer", "s3cret-pass"),
                          data={"name": "laptop", "push_rubygem": "true", "index_rubygems": "true"})
    assert response.status_code == 200
    key = response.text
    assert key.startswith("pky_") and "\n" not in key
    assert push(server.url, key, craft_gem("signed-gem", "1.0.0")).status_code == 200
    yank = httpx.request("DELETE", f"{server.url}/rubygems/api/v1/gems/yank",
                         data={"gem_name": "signed-gem", "version": "1.0.0"}, headers={"Authorization": key})
    assert yank.status_code == 403  # the key was asked for push only
    legacy = httpx.get(url, auth=("signer", "s3cret-pass"))  # old clients: GET, no scope flags
    assert legacy.status_code == 200 and legacy.text.startswith("pky_")


def test_gem_owner_add_list_remove(server, ruby_env) -> None:
    token = server.mint_token(*PUSH_SCOPES, user="founder")
    server.cli("user", "create", "helper")
    assert push(server.url, token, craft_gem("owned-gem", "1.0.0")).status_code == 200
    host = ["--host", f"{server.url}/rubygems"]

    added = ruby_env.run(["gem", "owner", "owned-gem", "--add", "helper", *host], GEM_HOST_API_KEY=token)
    assert "Owners for gem: owned-gem" in added.stdout and "- helper" in added.stdout and "- founder" in added.stdout
    listing = yaml.safe_load(httpx.get(f"{server.url}/rubygems/api/v1/gems/owned-gem/owners.yaml").text)
    assert sorted(o["handle"] for o in listing) == ["founder", "helper"]
    as_json = httpx.get(f"{server.url}/rubygems/api/v1/gems/owned-gem/owners.json").json()
    assert sorted(o["handle"] for o in as_json) == ["founder", "helper"]

    removed = ruby_env.run(["gem", "owner", "owned-gem", "--remove", "helper", *host], GEM_HOST_API_KEY=token)
    assert "- helper" not in removed.stdout and "- founder" in removed.stdout

    missing = httpx.post(f"{server.url}/rubygems/api/v1/gems/owned-gem/owners", data={"email": "nobody"},
                         headers={"Authorization": token})
    assert missing.status_code == 404 and "nobody" in missing.text
    outsider = server.mint_token(*PUSH_SCOPES, user="outsider")
    refused = httpx.post(f"{server.url}/rubygems/api/v1/gems/owned-gem/owners", data={"email": "outsider"},
                         headers={"Authorization": outsider})
    assert refused.status_code == 403


def test_gem_signin_then_push_with_the_stored_key(server, ruby_env, gem_builder) -> None:
    """`gem signin` must run on a terminal: `script` gives it one. The key lands in gem's credentials file
    under the host, and a later `gem push --host` uses it without GEM_HOST_API_KEY."""
    server.cli("user", "create", "terminal-user", "--password", "pw-on-a-tty")
    host = f"{server.url}/rubygems"
    answers = "terminal-user\npw-on-a-tty\n\n" + "y\n" * 7  # email, password, key name, then each scope
    signin = subprocess.run(["script", "-qec", f"gem signin --host {host}", "/dev/null"], input=answers,
                            env=ruby_env.env(RUBYGEMS_HOST=host), capture_output=True, text=True, timeout=120)
    assert "Signed in with API key" in signin.stdout, signin.stdout[-2000:]
    stored = [p for p in (ruby_env.home / ".gem" / "credentials", ruby_env.home / ".local/share/gem/credentials")
              if p.exists()]  # gem 3.3 uses the XDG path unless ~/.gem exists
    assert stored, signin.stdout[-2000:]
    credentials = yaml.safe_load(stored[0].read_text())
    assert credentials[host].startswith("pky_")

    push = ruby_env.run(["gem", "push", str(gem_builder(GemSource("signed-in-gem", "1.0.0"))), "--host", host])
    assert "Successfully registered gem: signed-in-gem (1.0.0)" in push.stdout
