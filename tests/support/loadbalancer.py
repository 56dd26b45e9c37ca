"""A private nginx load-balancing packyard replicas on 127.0.0.1, with the same proxy settings as
deploy/loadbalancer/nginx.conf; started by the same harness as the static front (tests/support/nginx.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support.nginx import RunningNginx, launch_nginx

REPO = Path(__file__).resolve().parents[2]
PROXY_SETTINGS = REPO / "deploy" / "loadbalancer" / "proxy.conf"


def http_block(port: int, upstreams: list[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstreams)
    return f"""
    upstream packyard {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://packyard;
            include {PROXY_SETTINGS};
        }}
    }}
"""


def start_nginx(prefix: Path, upstreams: list[int]) -> RunningNginx:
    """nginx on a free port in front of the replicas listening on `upstreams`; its access log says
    which replica(s) answered each request (`upstream=` lists every one tried)."""
    return launch_nginx(prefix, lambda port: http_block(port, upstreams))
