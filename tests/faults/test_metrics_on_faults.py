"""Dependency faults show in /metrics: Redis cut for real (calls that failed), PostgreSQL cut for
real (requests answered 503, counted by status), on 2 workers. Runs on both passes against the
local Redis and PostgreSQL behind a TcpProxy."""

from __future__ import annotations

import httpx
import pytest

from tests.core.test_metrics import requests_of, sample, scrape
from tests.faults.faultkit import FAST_FAILING, server_behind_proxy
from tests.support.waiting import eventually


def test_redis_errors_are_counted_while_it_is_cut(redis_cut):
    server, proxy = redis_cut
    admin = server.mint_token("admin", user="root")
    samples, _ = scrape(server, admin)
    assert sample(samples, "packyard_redis_errors_total") == 0
    proxy.close()
    for _ in range(20):  # no request fails; each worker notices the outage on its next Redis call
        assert httpx.get(server.url + "/pypi/simple/", timeout=30).status_code == 200
        assert httpx.get(server.url + "/rubygems/versions", timeout=30).status_code == 200

    def counted(samples) -> None:
        assert sample(samples, "packyard_redis_errors_total") >= 1
        assert requests_of(samples, "pypi", "/simple/") == 20

    eventually(lambda: counted(scrape(server, admin)[0]))
    proxy.open()


@pytest.fixture
def database_cut(tmp_path, postgres_backend):
    env = {**FAST_FAILING, "PACKYARD_METRICS_PUBLIC": "true"}  # a token is checked in the database: scrape anonymously
    with server_behind_proxy(tmp_path / "server", postgres_backend, "database", extra_env=env, workers=2) as cut:
        yield cut


def test_database_errors_are_counted_and_metrics_answer_through_the_outage(database_cut):
    server, proxy = database_cut
    proxy.close()
    for _ in range(4):
        answer = httpx.get(server.url + "/api/v1/packages", timeout=30)
        assert answer.status_code == 503, answer.text

    def counted() -> None:
        answer = httpx.get(server.url + "/metrics", timeout=30)
        assert answer.status_code == 200, answer.text
        samples, _ = _parse(answer.text)
        assert requests_of(samples, "core", "/api/v1/packages", status="503") == 4
        assert sample(samples, "packyard_database_errors_total", status="503") >= 4

    eventually(counted)


def _parse(text: str):
    from prometheus_client.parser import text_string_to_metric_families

    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, None
