"""Runs uvicorn so that a stopping replica refuses new connections at once, then drains.

With `--workers N` uvicorn's supervisor keeps its copy of the listening socket open until every
worker has finished its requests in flight. Meanwhile the kernel keeps accepting connections that
no worker will ever serve, so a load balancer waits on them (until the replica exits) instead of
trying the next replica at once. Here the supervisor closes its copy as soon as SIGTERM or SIGINT
arrives; each worker closes its own as it starts draining, so the port is closed within moments
and nginx's `proxy_next_upstream error` sends new requests to another replica immediately.
"""

from __future__ import annotations

import sys

from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess


class DrainingMultiprocess(Multiprocess):
    def _stop_listening(self) -> None:
        for sock in self.sockets:
            sock.close()

    def handle_term(self) -> None:
        self._stop_listening()
        super().handle_term()

    def handle_int(self) -> None:
        self._stop_listening()
        super().handle_int()


def run(config: Config) -> None:
    """`uvicorn.run` for an app given as an import string, with the draining supervisor."""
    if config.workers > 1:
        DrainingMultiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = Server(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
