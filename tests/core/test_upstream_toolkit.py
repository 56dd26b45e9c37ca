"""The core's upstream-proxy toolkit: settings per ecosystem, credentials kept out of sight, the
reserved-name commands every adapter gets (with that adapter's name rule). The proxying itself is
tested through real clients in tests/pypi/test_pypi_proxy.py and tests/rubygems/."""

from __future__ import annotations

import httpx

from packyard.config import Settings
from packyard.upstream import UpstreamClient, redacted


def test_an_upstream_per_ecosystem_comes_from_its_own_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("PACKYARD_PYPI_UPSTREAM", "https://pypi.org/simple/")
    monkeypatch.setenv("PACKYARD_RUBYGEMS_UPSTREAM", " https://rubygems.org/ ")
    monkeypatch.setenv("PACKYARD_UPSTREAM_TIMEOUT", "3")
    settings = Settings(data_dir=tmp_path)
    assert settings.upstreams == {"pypi": "https://pypi.org/simple/", "rubygems": "https://rubygems.org/"}
    assert settings.upstream_timeout == 3 and settings.upstream_cache_seconds == 600
    monkeypatch.delenv("PACKYARD_PYPI_UPSTREAM")
    monkeypatch.delenv("PACKYARD_RUBYGEMS_UPSTREAM")
    assert Settings(data_dir=tmp_path).upstreams == {}  # off by default


def test_credentials_never_show_and_the_base_is_a_directory():
    assert redacted("https://__token__:pypi-secret@private.example:8443/simple/") == "https://private.example:8443/simple/"
    client = UpstreamClient("https://__token__:pypi-secret@private.example/simple", timeout=5)
    assert client.base_url == "https://private.example/simple/"
    assert client.url("requests/") == "https://private.example/simple/requests/"
    assert client.url("https://files.example/a.whl") == "https://files.example/a.whl"


def test_serve_has_an_upstream_flag_per_adapter(server):
    text = server.cli("serve", "--help").stdout
    assert "--pypi-upstream URL" in text and "--rubygems-upstream URL" in text


def test_reserved_names_follow_each_adapters_name_rule(server):
    assert server.cli("pypi", "reserve", "Acme_Internal").stdout.strip() == "reserved Acme_Internal (pypi)"
    again = server.cli("pypi", "reserve", "acme.internal", check=False)
    assert again.returncode == 1 and "'Acme_Internal' is reserved already" in again.stderr
    assert server.cli("rubygems", "reserve", "Rails").returncode == 0
    assert server.cli("rubygems", "reserve", "rails", check=False).returncode == 1  # names differing in case collide
    assert server.cli("rubygems", "reserve", "rails-ext").returncode == 0
    assert [line.split("\t")[0] for line in server.cli("rubygems", "reserved").stdout.splitlines()] == ["Rails", "rails-ext"]
    assert server.cli("rubygems", "unreserve", "RAILS").returncode == 0
    missing = server.cli("rubygems", "unreserve", "rails", check=False)
    assert missing.returncode == 1 and "not reserved" in missing.stderr
    blank = server.cli("pypi", "reserve", " ", check=False)
    assert blank.returncode == 1 and "Give the name" in blank.stderr
    admin = server.mint_token("admin", user="root")
    listed = httpx.get(server.url + "/api/v1/reserved/pypi", headers={"Authorization": f"Bearer {admin}"}).json()["items"]
    assert [(r["name"], r["normalized_name"]) for r in listed] == [("Acme_Internal", "acme-internal")]
    bad = httpx.post(server.url + "/api/v1/reserved/pypi", json={"name": "x\u0000y"}, headers={"Authorization": f"Bearer {admin}"})
    assert bad.status_code in (400, 422)
    anonymous = httpx.get(server.url + "/api/v1/proxy/fetches")
    assert anonymous.status_code == 401
