"""The HTTP client every adapter's proxy uses to talk to its upstream (httpx, async).

Bounded waits (connect, each read) from `PACKYARD_UPSTREAM_TIMEOUT`; conditional GETs and ranges
are plain request headers. Credentials come from the upstream URL's userinfo (as pip takes them)
and are sent only to that scheme, host and port: a file hosted elsewhere (pypi.org's files live on
files.pythonhosted.org) gets none. No message or record ever shows them (`redacted`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import httpx

from packyard.errors import PackyardError


class UpstreamUnavailable(PackyardError):
    """The upstream could not be reached or failed (5xx, timeout), and no copy is kept to serve instead."""

    status_code = 502


def redacted(url: str) -> str:
    """The URL without userinfo, for messages, logs and records."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class UpstreamClient:
    """One upstream (a base URL); one `httpx.AsyncClient` per event loop (a worker process has one)."""

    def __init__(self, base_url: str, timeout: float):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"an upstream must be an http(s) URL, not {redacted(base_url)!r}")
        # a base is a directory: relative paths resolve below it (`.../simple` + `requests/`)
        self.base_url = redacted(base_url if parts.path.endswith("/") else base_url + "/")
        self._auth = (unquote(parts.username or ""), unquote(parts.password or "")) if parts.username is not None else None
        self._origin = _origin(base_url)
        self._timeout = httpx.Timeout(timeout, pool=timeout)
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}

    def url(self, path: str) -> str:
        """A path or URL resolved against the upstream's base URL (credentials never included)."""
        return urljoin(self.base_url, path)

    def describe(self) -> str:
        return self.base_url

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False, trust_env=False,
                                       headers={"user-agent": "packyard-proxy"})
            self._clients = {loop: client}  # a new loop (tests) replaces the old one's client
        return client

    def _headers(self, url: str, headers: dict[str, str] | None) -> tuple[dict[str, str], httpx.BasicAuth | None]:
        auth = httpx.BasicAuth(*self._auth) if self._auth is not None and _origin(url) == self._origin else None
        return dict(headers or {}), auth

    async def get(self, url: str, headers: dict[str, str] | None = None, *, max_redirects: int = 5) -> httpx.Response:
        """The whole answer (status, headers, body) of a GET; redirects followed (credentials
        dropped when one leaves the upstream's origin). Raises UpstreamUnavailable when unreachable."""
        async with self.stream(url, headers, max_redirects=max_redirects) as response:
            await response.aread()
            return response

    @asynccontextmanager
    async def stream(self, url: str, headers: dict[str, str] | None = None, *, max_redirects: int = 5) -> AsyncIterator[httpx.Response]:
        """A GET whose body is read as it arrives (`response.aiter_bytes()`); redirects followed."""
        client = self._client()
        for _ in range(max_redirects + 1):
            request_headers, auth = self._headers(url, headers)
            try:
                request = client.build_request("GET", url, headers=request_headers)
                response = await client.send(request, auth=auth, stream=True)
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(f"The upstream {self.base_url} could not be reached ({type(exc).__name__}: {redacted(str(exc)) or 'no answer'}).") from None
            if response.is_redirect and "location" in response.headers:
                await response.aclose()
                url = urljoin(url, response.headers["location"])
                continue
            try:
                yield response
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(f"The upstream {self.base_url} broke off ({type(exc).__name__}).") from None
            finally:
                await response.aclose()
            return
        raise UpstreamUnavailable(f"The upstream {self.base_url} redirected more than {max_redirects} times for {redacted(url)}.")
