"""docker-compose.yml describes the tested topology, and it and its nginx config stay valid."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.loadbalancer import nginx_binary
from tests.support.server import free_port

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
NGINX_CONF = REPO / "deploy" / "loadbalancer" / "nginx.conf"


def compose_binary() -> str:
    found = shutil.which("docker-compose")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("docker-compose is required in CI (.ci/run installs Debian's docker-compose)")
    pytest.skip("docker-compose is not installed")


def test_docker_compose_validates():
    result = subprocess.run([compose_binary(), "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr


def _upstream_hosts() -> list[str]:
    return re.findall(r"^\s*server\s+([\w.-]+):8000\b", NGINX_CONF.read_text(), re.MULTILINE)


def test_nginx_balances_every_replica_of_the_compose_file_and_each_has_the_production_backends():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    replicas = sorted(name for name, svc in services.items() if "packyard serve" in str(svc.get("command", "")))
    assert len(replicas) >= 2
    assert sorted(_upstream_hosts()) == replicas
    environments = [services[name]["environment"] for name in replicas]
    assert all(env == environments[0] for env in environments)
    env = environments[0]
    assert env["PACKYARD_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["PACKYARD_REDIS_URL"].startswith("redis://")
    assert env["PACKYARD_STORAGE_URL"].startswith("s3://")
    for name in ("postgres", "redis", "minio", "nginx", *replicas):
        assert "healthcheck" in services[name], name
    bucket = env["PACKYARD_STORAGE_URL"].removeprefix("s3://").split("/", 1)[0]
    assert f"mb --ignore-existing blobs/{bucket}" in services["create-bucket"]["entrypoint"]


def test_the_load_balancer_config_passes_nginx_test(tmp_path):
    """The compose nginx config, with its replicas' host names pointed at 127.0.0.1, passes `nginx -t`."""
    binary = nginx_binary()
    conf = NGINX_CONF.read_text()
    for host in _upstream_hosts():
        conf = conf.replace(f"{host}:8000", f"127.0.0.1:{free_port()}")
    conf = conf.replace("/etc/nginx/packyard-proxy.conf", str(REPO / "deploy" / "loadbalancer" / "proxy.conf"))
    conf = re.sub(r"listen 80;", f"listen 127.0.0.1:{free_port()};", conf)
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
