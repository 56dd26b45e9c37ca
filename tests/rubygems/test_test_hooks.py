"""The conformance suite's test hooks exist only with PACKYARD_TEST_HOOKS=true (issue 6)."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timezone

import httpx

from packyard.models import StoredSetting
from tests.rubygems.conftest import PUSH_SCOPES, push
from tests.rubygems.gemtools import GemSource, craft_gem
from tests.support.access_log import from_every_worker


def test_hooks_are_absent_without_the_setting(server, gem_builder) -> None:
    before = httpx.get(f"{server.url}/rubygems/versions").content
    assert httpx.post(f"{server.url}/rubygems/set_time", content=b"1990-01-01T00:00:00Z").status_code == 404
    assert httpx.post(f"{server.url}/rubygems/rebuild_versions_list").status_code == 404
    assert httpx.get(f"{server.url}/rubygems/versions").content == before  # no rebuild happened

    with server.registry().db.read() as session:
        assert session.get(StoredSetting, "clock.frozen_at") is None
    token = server.mint_token(*PUSH_SCOPES)
    assert push(server.url, token, gem_builder(GemSource("hookless", "1.0.0"))).status_code == 200
    created = httpx.get(f"{server.url}/rubygems/api/v1/versions/hookless.json").json()[0]["created_at"]
    age = datetime.now(timezone.utc) - datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert abs(age.total_seconds()) < 120, f"the clock moved: the push was stamped {created}"


def test_set_time_holds_in_every_worker(server_factory) -> None:
    server = server_factory(workers=2, extra_env={"PACKYARD_TEST_HOOKS": "true"})
    assert "Never run like this in production" in server.log()
    token = server.mint_token(*PUSH_SCOPES)
    assert httpx.post(f"{server.url}/rubygems/set_time", content=b"2001-02-03T04:05:06Z").status_code == 200
    assert httpx.post(f"{server.url}/rubygems/rebuild_versions_list").status_code == 200
    body = httpx.get(f"{server.url}/rubygems/versions").text
    assert body.startswith("created_at: 2001-02-03T04:05:06Z\n---\n"), body
    versions = itertools.count()

    def push_next(headers: dict[str, str]) -> int:
        gem = craft_gem("clocked", f"1.0.{next(versions)}")
        return httpx.post(f"{server.url}/rubygems/api/v1/gems", content=gem, timeout=60,
                          headers={"Authorization": token, "Content-Type": "application/octet-stream", **headers}).status_code

    assert set(from_every_worker(server, 2, push_next)) == {200}  # pushes answered by each worker
    stamps = {v["created_at"] for v in httpx.get(f"{server.url}/rubygems/api/v1/versions/clocked.json").json()}
    assert stamps == {"2001-02-03T04:05:06.000Z"}


def test_versions_base_is_compacted_after_a_month(server_factory) -> None:
    server = server_factory(extra_env={"PACKYARD_TEST_HOOKS": "true"})
    token = server.mint_token(*PUSH_SCOPES)
    base = f"{server.url}/rubygems"
    assert httpx.post(f"{base}/set_time", content=b"2030-01-01T00:00:00Z").status_code == 200
    assert httpx.post(f"{base}/rebuild_versions_list").status_code == 200
    assert push(server.url, token, craft_gem("monthly", "1.0.0")).status_code == 200
    body = httpx.get(f"{base}/versions").text
    assert body.startswith("created_at: 2030-01-01T00:00:00Z\n---\nmonthly 1.0.0 ")

    assert httpx.post(f"{base}/set_time", content=b"2030-01-20T00:00:00Z").status_code == 200
    assert push(server.url, token, craft_gem("monthly", "1.1.0")).status_code == 200
    assert httpx.get(f"{base}/versions").text.startswith(body)  # within the month: append only

    assert httpx.post(f"{base}/set_time", content=b"2030-02-02T00:00:00Z").status_code == 200
    assert push(server.url, token, craft_gem("monthly", "1.2.0")).status_code == 200
    info = httpx.get(f"{base}/info/monthly").content
    assert httpx.get(f"{base}/versions").text == (
        f"created_at: 2030-02-02T00:00:00Z\n---\nmonthly 1.0.0,1.1.0,1.2.0 {hashlib.md5(info).hexdigest()}\n")
