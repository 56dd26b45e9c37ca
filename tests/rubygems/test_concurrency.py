"""Acceptance 2 of issue 4: after 50 interleaved pushes and yanks from two concurrent clients (on two
worker processes), the MD5 on each gem's last /versions line equals the MD5 of its /info body, and
/versions holds exactly one appended line per change."""

from __future__ import annotations

import hashlib
import threading

import httpx

from tests.rubygems.conftest import PUSH_SCOPES
from tests.rubygems.gemtools import craft_gem

GEMS = ("race-a", "race-b", "race-c")
OPERATIONS_PER_CLIENT = 25


def client_script(client: int) -> list[tuple[str, str, str]]:
    """Pushes of new versions, each third step a yank of the client's previous version."""
    steps, pushed = [], []
    for i in range(OPERATIONS_PER_CLIENT):
        gem = GEMS[(i + client) % len(GEMS)]
        if i % 3 == 2 and pushed:
            steps.append(("yank", *pushed.pop(0)))
        else:
            version = f"{client}.{i}.0"
            steps.append(("push", gem, version))
            pushed.append((gem, version))
    return steps


def test_versions_md5_matches_info_after_concurrent_pushes_and_yanks(server_factory) -> None:
    server = server_factory(workers=2)
    token = server.mint_token(*PUSH_SCOPES, user="racer")
    base = f"{server.url}/rubygems"
    for gem in GEMS:  # claim the names first, so both clients only extend them
        assert httpx.post(f"{base}/api/v1/gems", content=craft_gem(gem, "0.0.1"), headers={"Authorization": token}).status_code == 200
    start = httpx.get(f"{base}/versions").content
    scripts = {c: client_script(c) for c in (1, 2)}
    payloads = {(g, v): craft_gem(g, v) for s in scripts.values() for op, g, v in s if op == "push"}
    failures: list[str] = []
    barrier = threading.Barrier(2)

    def run(client: int) -> None:
        barrier.wait()
        for op, gem, version in scripts[client]:
            with httpx.Client(headers={"Authorization": token, "Connection": "close"}, timeout=60) as http:
                if op == "push":
                    response = http.post(f"{base}/api/v1/gems", content=payloads[(gem, version)])
                else:
                    response = http.request("DELETE", f"{base}/api/v1/gems/yank", data={"gem_name": gem, "version": version})
            if response.status_code != 200:
                failures.append(f"client {client} {op} {gem} {version}: {response.status_code} {response.text}")

    threads = [threading.Thread(target=run, args=(c,)) for c in scripts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures

    versions = httpx.get(f"{base}/versions").content
    assert versions.startswith(start), "/versions must only grow"
    appended = versions[len(start):].decode().splitlines()
    assert len(appended) == sum(len(s) for s in scripts.values()) == 2 * OPERATIONS_PER_CLIENT
    last = {}
    for line in versions.decode().split("---\n", 1)[1].splitlines():
        name, _, checksum = line.split(" ")
        last[name] = checksum
    for gem in GEMS:
        info = httpx.get(f"{base}/info/{gem}").content
        assert last[gem] == hashlib.md5(info).hexdigest(), gem
        yanked = {v for s in scripts.values() for op, g, v in s if op == "yank" and g == gem}
        listed = {line.split(" ")[0] for line in info.decode().splitlines()[1:]}
        assert not (listed & yanked)
        expected = {"0.0.1"} | {v for s in scripts.values() for op, g, v in s if op == "push" and g == gem}
        assert listed == expected - yanked
