"""Fixtures for the nginx front: a real `packyard serve` with a real nginx in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.access_log import requested
from tests.support.backends import new_backend
from tests.support.nginx import RunningNginx, start_nginx
from tests.support.server import RunningServer, start_server


@dataclass
class Front:
    app: RunningServer
    nginx: RunningNginx

    @property
    def url(self) -> str:
        return self.nginx.url

    def app_log_mark(self) -> int:
        return len(self.app.log())

    def app_saw(self, method: str, path: str, since: int = 0) -> bool:
        """Whether the app's JSON access log has a request for exactly `path` after `since` (an `app_log_mark()`)."""
        return requested(self.app, method, path, since)


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    app = start_server(tmp_path_factory.mktemp("app"), backend=new_backend(local_blobs=True))
    try:
        nginx = start_nginx(app, tmp_path_factory.mktemp("nginx"))
    except BaseException:
        app.stop()
        app.backend.drop()
        raise
    yield Front(app, nginx)
    nginx.stop()
    app.stop()
    app.backend.drop()
