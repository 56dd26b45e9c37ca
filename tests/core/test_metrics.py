"""`/metrics` of a real `packyard serve --workers 2`: after known traffic spread over both workers,
every scrape shows exactly that traffic whichever worker answers it; who may scrape; uploads count
their bytes; the journal serial and the document memo are reported."""

from __future__ import annotations

import itertools
import json
import os
import socket
import zipfile
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.faultkit import gem_push
from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.rubygems.gemtools import craft_gem
from tests.support.access_log import access_lines, line_for, until_workers_answered
from tests.support.server import RunningServer
from tests.support.waiting import eventually  # other workers' counts reach a scrape within a second (their flush)

ids = itertools.count()


def scrape(server: RunningServer, token: str) -> tuple[dict[tuple[str, tuple], float], int]:
    """(samples by (name, sorted labels), pid of the worker that answered)."""
    request_id = f"scrape-{next(ids)}"
    answer = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, line_for(server, request_id)["pid"]


def requests_of(samples, ecosystem: str, route: str, status: str = "200", method: str = "GET") -> float:
    labels = tuple(sorted({"ecosystem": ecosystem, "route": route, "method": method, "status": status}.items()))
    return samples.get(("packyard_http_requests_total", labels), 0)


def sample(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory) -> RunningServer:
    from tests.support.server import start_server

    running = start_server(tmp_path_factory.mktemp("server"), workers=2)
    yield running
    running.stop()
    running.backend.drop()


def test_every_scrape_shows_the_traffic_of_both_workers(two_workers):
    server = two_workers
    admin = server.mint_token("admin", user="root")
    paths = ("/pypi/simple/", "/rubygems/versions", "/pypi/no/such/thing")
    rounds: list[int] = []
    lengths: dict[str, set[int]] = {path: set() for path in paths}

    def read_round(round_: int) -> int:  # each path once; the pid of the worker that answered the first
        for path in paths:
            request_id = f"read-{round_}-{path}"
            answer = httpx.get(server.url + path, headers={"X-Request-ID": request_id}, timeout=30)
            assert answer.status_code == (404 if "no/such" in path else 200), (path, answer.text)
            assert answer.headers["x-request-id"] == request_id
            lengths[path].add(len(answer.content))
        rounds.append(round_)
        return line_for(server, f"read-{round_}-{paths[0]}")["pid"]

    pids = until_workers_answered(read_round, 2)
    sent = {path: len(rounds) for path in paths}

    def exact(samples) -> None:
        assert requests_of(samples, "pypi", "/simple/") == sent["/pypi/simple/"]
        assert requests_of(samples, "rubygems", "/versions") == sent["/rubygems/versions"]
        # a path no route knows is one label value, never the raw path
        assert requests_of(samples, "pypi", "unmatched", status="404") == sent["/pypi/no/such/thing"]
        assert not any("no/such" in str(labels) for _, labels in samples)
        assert sample(samples, "packyard_read_duration_seconds_count", ecosystem="pypi", route="/simple/") == sent["/pypi/simple/"]
        assert sample(samples, "packyard_read_duration_seconds_bucket", ecosystem="pypi", route="/simple/", le="+Inf") == sent["/pypi/simple/"]
        (versions_length,) = lengths["/rubygems/versions"]
        assert sample(samples, "packyard_served_bytes_total", ecosystem="rubygems", route="/versions") == sent["/rubygems/versions"] * versions_length

    # Each worker flushes its own counts for the others' scrapes within a second: wait until a scrape
    # answered by each of them shows the traffic, then every later scrape must, whoever answers.
    def exact_from_both() -> None:
        scrapes = []
        assert until_workers_answered(lambda _: _record(scrapes, scrape(server, admin)), 2) == pids
        for samples, _ in scrapes:
            exact(samples)

    eventually(exact_from_both, timeout=30)
    exact_from_both()


def _record(found: list, answer: tuple[dict, int]) -> int:
    found.append(answer)
    return answer[1]


def test_pipelined_requests_are_each_counted(two_workers):
    """Requests are counted in packyard's uvicorn protocol: several arriving in one packet (HTTP/1.1
    pipelining) each get their own cycle, timed and counted."""
    server = two_workers
    admin = server.mint_token("admin", user="root")
    host, port = server.url.removeprefix("http://").split(":")
    request = f"GET /rubygems/info/pipelined-nothing HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request * 2 + request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    assert received.count(b"HTTP/1.1 404 ") == 3, received

    def counted() -> None:
        samples, _ = scrape(server, admin)
        assert requests_of(samples, "rubygems", "/info/{gem}", status="404") == 3
        assert sample(samples, "packyard_read_duration_seconds_count", ecosystem="rubygems", route="/info/{gem}") == 3

    eventually(counted)


def test_only_an_admin_token_may_scrape_unless_metrics_are_public(two_workers, server_factory):
    server = two_workers
    anonymous = httpx.get(server.url + "/metrics", timeout=30)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"]
    reader = server.mint_token("pypi:package:*:read", user="reader")
    assert httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {reader}"}, timeout=30).status_code == 403
    assert httpx.get(server.url + "/metrics", headers={"Authorization": "Bearer pky_wrong"}, timeout=30).status_code == 401

    public = server_factory(extra_env={"PACKYARD_METRICS_PUBLIC": "true"})
    answer = httpx.get(public.url + "/metrics", timeout=30)
    assert answer.status_code == 200 and "packyard_http_requests_total" in answer.text

    off = server_factory(extra_env={"PACKYARD_METRICS": "false"}, access_log=False)
    answer = httpx.get(off.url + "/metrics", headers={"Authorization": f"Bearer {off.mint_token('admin', user='root')}"}, timeout=30)
    assert answer.status_code == 404 and "PACKYARD_METRICS" in answer.text
    assert "x-request-id" not in answer.headers  # no access log


def test_uploads_and_downloads_count_their_bytes_and_uploads_move_the_journal_serial(two_workers, tmp_path):
    server = two_workers
    admin = server.mint_token("admin", user="root")
    writer = server.mint_token("pypi:package:*:write", "rubygems:gem:*:write", user="uploader")
    noise = zipfile.ZipInfo("counted/noise.bin")  # stored, not deflated: a file sent in several body messages
    wheel = build_wheel(tmp_path, "counted", "1.0", extra_entries=((noise, os.urandom(300_000)),))
    assert http_upload(server.url, writer, wheel, "counted", "1.0").status_code == 200
    assert http_upload(server.url, writer, wheel, "counted", "1.0").status_code == 200  # the same file again: nothing stored
    gem = craft_gem("counted-gem", "1.0.0")
    assert gem_push(server.url, writer, gem).status_code == 200
    stored = httpx.get(f"{server.url}/pypi/pypi/counted/json", timeout=30).json()["urls"][0]["size"]
    assert stored == wheel.stat().st_size
    file_url = f"{server.url}/pypi/files/counted/{wheel.name}"
    for _ in range(2):
        assert httpx.get(file_url, timeout=30).content == wheel.read_bytes()

    def uploaded(samples) -> None:
        assert sample(samples, "packyard_served_bytes_total", ecosystem="pypi", route="/files/{project}/{filename}") == 2 * stored
        assert sample(samples, "packyard_uploaded_bytes_total", ecosystem="pypi") == wheel.stat().st_size
        assert sample(samples, "packyard_uploaded_files_total", ecosystem="pypi") == 1
        assert sample(samples, "packyard_uploaded_bytes_total", ecosystem="rubygems") == len(gem)
        assert sample(samples, "packyard_write_duration_seconds_count", ecosystem="pypi", route="/legacy/") == 2
        assert requests_of(samples, "pypi", "/legacy/", method="POST") == 2
        assert requests_of(samples, "rubygems", "/api/v1/gems", method="POST") == 1
        registry = server.registry()
        assert sample(samples, "packyard_journal_serial", ecosystem="pypi") == registry.serial("pypi") > 0
        assert sample(samples, "packyard_journal_serial", ecosystem="rubygems") == registry.serial("rubygems") > 0

    eventually(lambda: uploaded(scrape(server, admin)[0]))


def test_document_memo_hits_and_misses_are_counted(two_workers):
    server = two_workers
    admin = server.mint_token("admin", user="root")
    before, _ = scrape(server, admin)
    for _ in range(20):
        assert httpx.get(server.url + "/rubygems/versions", timeout=30).status_code == 200

    def counted(samples) -> None:
        hits = sample(samples, "packyard_memo_lookups_total", memo="documents", result="hit")
        misses = sample(samples, "packyard_memo_lookups_total", memo="documents", result="miss")
        old = sample(before, "packyard_memo_lookups_total", memo="documents", result="hit") + sample(
            before, "packyard_memo_lookups_total", memo="documents", result="miss")
        assert hits + misses >= old + 20
        assert hits > 0

    eventually(lambda: counted(scrape(server, admin)[0]))


def test_a_replaced_workers_counts_stay_in_every_scrape(tmp_path):
    import os
    import signal

    from tests.support.server import start_server

    server = start_server(tmp_path / "server", workers=2)
    try:
        admin = server.mint_token("admin", user="root")
        for i in range(30):
            assert httpx.get(server.url + "/rubygems/names", headers={"X-Request-ID": f"names-{i}"}, timeout=30).status_code == 200
        by_pid = eventually(lambda: _names_lines_by_pid(server, 30))  # a line may be written just after its answer
        eventually(lambda: _names_total(scrape(server, admin)[0], 30))
        victim = max(by_pid, key=by_pid.get)  # the worker that answered most of them
        metrics_dir = Path(_environ(victim)["PACKYARD_METRICS_DIR"])
        # a worker killed outright loses what it counted since its last flush (at most a second): wait for it
        eventually(lambda: _names_in_file(metrics_dir / f"{victim}.json", by_pid[victim]))
        started = _workers_of(server)
        os.kill(victim, signal.SIGKILL)

        eventually(lambda: _died(server, victim), timeout=30)  # uvicorn's supervisor starts another worker
        scrapes: list = []
        live = until_workers_answered(lambda _: _record(scrapes, scrape(server, admin)), 2)  # the replacement too
        assert victim not in live
        for samples, _ in scrapes:
            assert _names_total(samples, 30) is None
        # the supervisor folded the dead worker's file into retired.json: one file per live worker
        retired = json.loads((metrics_dir / "retired.json").read_text())
        assert retired["pids"] == [victim]
        eventually(lambda: _files_are(metrics_dir, ["retired.json", *(f"{pid}.json" for pid in live)]))
        # and the replacement was told it replaces a dead worker (`resync_serials(announce=True)`)
        for pid in live:
            assert (_environ(pid).get("PACKYARD_REPLACES_DEAD_WORKER") == "1") == (pid not in started), pid
    finally:
        server.stop()
        server.backend.drop()


def _names_total(samples, expected: int) -> None:
    assert requests_of(samples, "rubygems", "/names") == expected


def _died(server: RunningServer, pid: int) -> None:
    assert f"Child process [{pid}] died" in server.log()


def _workers_of(server: RunningServer) -> set[int]:
    parent = server.process.pid
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return {int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}


def _environ(pid: int) -> dict[str, str]:
    """A worker's environment: `packyard serve` hands it the metrics directory."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _files_are(directory: Path, names: list[str]) -> None:
    assert sorted(p.name for p in directory.glob("*.json")) == sorted(names)


def _names_lines_by_pid(server: RunningServer, expected: int) -> dict[int, int]:
    """How many of the `expected` access-log lines of /rubygems/names each worker wrote."""
    by_pid: dict[int, int] = {}
    for line in access_lines(server):
        if line["path"] == "/rubygems/names":
            by_pid[line["pid"]] = by_pid.get(line["pid"], 0) + 1
    assert sum(by_pid.values()) == expected, by_pid
    return by_pid


def _names_in_file(path: Path, expected: int) -> None:
    assert path.exists()
    counters = json.loads(path.read_text())["counters"]
    assert [value for name, labels, value in counters if name == "packyard_http_requests_total" and labels[1] == "/names"] == [expected]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stopped_server_leaves_no_metrics_directory(tmp_path, workers):
    """`packyard serve` makes a fresh metrics directory under TMPDIR at every start and removes it
    when stopped with SIGTERM (a service manager's stop), with one worker and with several."""
    from tests.support.server import start_server

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    server = start_server(tmp_path / "server", workers=workers, extra_env={"TMPDIR": str(scratch)})
    try:
        assert len(list(scratch.glob("packyard-metrics-*"))) == 1
    finally:
        server.stop()
        server.backend.drop()
    assert server.process.returncode == 0, server.log()[-2000:]
    assert list(scratch.glob("packyard-metrics-*")) == []


def test_the_start_up_renders_are_in_no_count_and_no_access_line(tmp_path):
    """Each worker renders the home page and the newest package's page before it serves
    (web/warm_up.py): operators' numbers must show only the requests clients made."""
    from tests.support.server import start_server

    server = start_server(tmp_path / "server", workers=2)
    try:
        token = server.mint_token("pypi:package:*:write", user="publisher")
        wheel = build_wheel(tmp_path, "warm-page", "1.0")
        assert http_upload(server.url, token, wheel, "warm-page", "1.0").status_code == 200
        server.stop()
        server = start_server(server.data_dir, workers=2, backend=server.backend, log_path=tmp_path / "again.log")
        admin = server.mint_token("admin", user="root")
        page_route = "/packages/{ecosystem}/{name}"
        scrapes: list = []
        until_workers_answered(lambda _: _record(scrapes, scrape(server, admin)), 2)  # both workers have started
        for samples, _ in scrapes:
            assert _route_total(samples, page_route) == 0 and _route_total(samples, "/") == 0
        assert not [line for line in access_lines(server) if line["path"] in ("/", "/packages/pypi/warm-page")]

        assert httpx.get(server.url + "/packages/pypi/warm-page", timeout=30).status_code == 200
        eventually(lambda: _route_total_is(scrape(server, admin)[0], page_route, 1))
        eventually(lambda: _page_lines_are(server, ["/packages/pypi/warm-page"]))
    finally:
        server.stop()
        server.backend.drop()


def _route_total(samples, route: str) -> float:
    return sum(value for (name, labels), value in samples.items()
               if name == "packyard_http_requests_total" and dict(labels).get("route") == route)


def _route_total_is(samples, route: str, expected: float) -> None:
    assert _route_total(samples, route) == expected


def _page_lines_are(server: RunningServer, expected: list[str]) -> None:
    assert [line["path"] for line in access_lines(server) if line["path"].startswith("/packages/")] == expected
