"""Runs uvicorn so that a stopping replica refuses new connections at once, then drains.

With `--workers N` uvicorn's supervisor keeps its copy of the listening socket open until every
worker has finished its requests in flight. Meanwhile the kernel keeps accepting connections that
no worker will ever serve, so a load balancer waits on them (until the replica exits) instead of
trying the next replica at once. Here the supervisor closes its copy as soon as SIGTERM or SIGINT
arrives; each worker closes its own as it starts draining, so the port is closed within moments
and nginx's `proxy_next_upstream error` sends new requests to another replica immediately.

It also retires the metrics file of every worker that is gone (died and replaced, or removed),
so a scrape keeps counting what it did but the directory holds one file per live worker, and
tells a worker started in place of one that died so (`REPLACES_DEAD_WORKER`): the dead one may
have committed a change it never announced (`Registry.resync_serials`).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from packyard.observability.metrics import retire_worker


REPLACES_DEAD_WORKER = "PACKYARD_REPLACES_DEAD_WORKER"


class DrainingMultiprocess(Multiprocess):
    metrics_dir: Path | None = None
    _workers: frozenset[int | None] = frozenset()

    def keep_subprocess_alive(self) -> None:
        os.environ[REPLACES_DEAD_WORKER] = "1"  # read by the workers this starts (spawned: they copy it)
        try:
            super().keep_subprocess_alive()
        finally:
            del os.environ[REPLACES_DEAD_WORKER]
        workers = frozenset(process.pid for process in self.processes)
        if self.metrics_dir is not None:
            for pid in self._workers - workers:
                if pid is not None:
                    retire_worker(self.metrics_dir, pid)
        self._workers = workers

    def _stop_listening(self) -> None:
        for sock in self.sockets:
            sock.close()

    def handle_term(self) -> None:
        self._stop_listening()
        super().handle_term()

    def handle_int(self) -> None:
        self._stop_listening()
        super().handle_int()


def run(config: Config, metrics_dir: Path | None = None) -> None:
    """`uvicorn.run` for an app given as an import string, with the draining supervisor."""
    if config.workers > 1:
        supervisor = DrainingMultiprocess(config, sockets=[config.bind_socket()])
        supervisor.metrics_dir = metrics_dir
        supervisor.run()
        return
    server = Server(config)
    # Once it has shut down, uvicorn raises the SIGTERM it shut down for again, for the handler it
    # found installed: Python's default would end this process before its caller's cleanup (the
    # metrics directory). This one ends it the ordinary way.
    signal.signal(signal.SIGTERM, _exit)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _exit(_signum, _frame) -> None:
    sys.exit(0)
