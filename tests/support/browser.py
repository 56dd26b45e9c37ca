"""Headless Chromium (Debian's, driven by Playwright) that can reach nothing but 127.0.0.1.

A private registry often runs without internet access, so every HTML page packyard serves must
work with the network limited to the loopback. `WatchedContext` holds a test to that:

- Every request any page makes (documents, scripts, styles, images, fetches, workers, favicons,
  web sockets) is recorded through Playwright. One for another host fails the test, unless the
  page's Content-Security-Policy stopped it and it is a known, accepted case (`EXPECTED_BLOCKED`).
- Chromium reaches other hosts only through `RefusingProxy`, which forwards nothing and records
  what was asked for; host names other than 127.0.0.1 do not even resolve. The proxy also sees
  the browser's own background services (`CHROMIUM_SERVICE_HOSTS`, not the page's doing);
  anything else it sees fails the test too.
- A local request that fails or answers an error status, an uncaught script error and a console
  error fail the test: a page that loads nothing from outside but is broken is no better.

The `offline_browser` fixture (tests/conftest.py) asserts all of that after each test that uses it.
Playwright starts Chromium with a new, empty profile directory each launch; it never downloads a
browser here (`executable_path` is Debian's `/usr/bin/chromium`).
"""

from __future__ import annotations

import os
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
LOOPBACK = "127.0.0.1"
LOCAL_SCHEMES = {"data", "blob", "about"}  # never touch the network

# Chromium's own traffic (component updates, account checks, autofill's form-field lookups), which
# no switch of this build turns off; the refusing proxy answers it and the test ignores it.
CHROMIUM_SERVICE_HOSTS = {"update.googleapis.com", "accounts.google.com", "content-autofill.googleapis.com"}

# Requests a page asks for that its Content-Security-Policy refuses, accepted with the reason.
EXPECTED_BLOCKED = {
    "https://cdn.redoc.ly/redoc/logo-mini.svg": "ReDoc 2.x always puts Redocly's logo in its sidebar; /redoc's CSP refuses it",
}


def require_chromium() -> str:
    """Browser tests need Debian's chromium; in CI its absence is a failure, never a skip."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname == LOOPBACK


class RefusingProxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy on 127.0.0.1 that forwards nothing: it records each target (`CONNECT host:443`,
    `GET http://host/...`) and answers 403. Chromium sends it every request not for the loopback."""

    daemon_threads = True

    def __init__(self) -> None:
        self.attempts: list[str] = []
        super().__init__((LOOPBACK, 0), _RefusingHandler)
        self.url = f"http://{LOOPBACK}:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def foreign_attempts(self) -> list[str]:
        """The attempts that were not Chromium's own background services."""
        return [attempt for attempt in self.attempts if _target_host(attempt) not in CHROMIUM_SERVICE_HOSTS]


def _target_host(attempt: str) -> str | None:
    method, _, target = attempt.partition(" ")
    return target.rsplit(":", 1)[0] if method == "CONNECT" else urlsplit(target).hostname


class _RefusingHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        request_line = self.rfile.readline(8192).decode("latin-1").strip()
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass  # the request's headers
        if request_line:
            self.server.attempts.append(request_line.rsplit(" ", 1)[0])  # "METHOD target"
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def launch_args(proxy: RefusingProxy) -> list[str]:
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {LOOPBACK}",
        # Chromium sends loopback requests directly and everything else to the proxy.
        f"--proxy-server={proxy.url}",
    ]


class WatchedContext:
    """One browser context whose pages are watched; see the module docstring."""

    def __init__(self, context, proxy: RefusingProxy) -> None:
        self.context = context
        self.proxy = proxy
        self.requests: list[tuple[str, str]] = []  # (resource type, url), in order
        self.refused_by_policy: list[str] = []  # external URLs the page's CSP stopped
        self.failures: list[str] = []
        context.on("request", lambda request: self.requests.append((request.resource_type, request.url)))
        context.on("requestfailed", self._failed)
        context.on("response", self._response)
        context.on("weberror", lambda error: self.failures.append(f"script error: {error.error}"))
        context.on("console", self._console)
        context.on("page", lambda page: page.on("websocket", lambda socket: self.requests.append(("websocket", socket.url))))

    def _failed(self, request) -> None:
        if is_local(request.url):
            if request.failure == "net::ERR_ABORTED":
                return  # the browser cancelled it: the page went on (a form sent while its favicon loaded)
            self.failures.append(f"{request.resource_type} {request.url} failed: {request.failure}")
        elif request.failure == "csp":
            self.refused_by_policy.append(request.url)

    def _response(self, response) -> None:
        if is_local(response.url) and response.status >= 400:
            self.failures.append(f"{response.request.resource_type} {response.url} answered {response.status}")

    def _console(self, message) -> None:
        if message.type == "error" and not any(url in message.text for url in EXPECTED_BLOCKED):
            self.failures.append(f"console error on {message.page.url if message.page else '?'}: {message.text}")

    def open(self, url: str):
        """A new page at `url`, loaded (scripts may still be rendering: wait for what the test expects)."""
        page = self.context.new_page()
        response = page.goto(url, wait_until="load")
        assert response is not None and response.ok, f"{url} answered {response and response.status}"
        return page

    def settle(self) -> None:
        """Let every open page finish its network activity, so all its requests are recorded."""
        for page in self.context.pages:
            page.wait_for_load_state("networkidle")

    def problems(self) -> list[str]:
        accepted = set(self.refused_by_policy) & set(EXPECTED_BLOCKED)
        found = []
        for kind, url in self.requests:
            if is_local(url) or url in accepted:
                continue
            if url in self.refused_by_policy:
                found.append(f"asked for {kind} {url} (the page's Content-Security-Policy refused it)")
            else:
                found.append(f"left {LOOPBACK}: {kind} {url}")
        found += [f"left {LOOPBACK} (seen by the proxy): {attempt}" for attempt in self.proxy.foreign_attempts()]
        return found + self.failures


@contextmanager
def chromium() -> Iterator[tuple[object, RefusingProxy]]:
    """Debian's Chromium, headless, with the network limited to 127.0.0.1; yields (browser, proxy)."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    proxy = RefusingProxy()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=launch_args(proxy))
            try:
                yield browser, proxy
            finally:
                browser.close()
    finally:
        proxy.shutdown()
        proxy.server_close()


@contextmanager
def watched_context(browser, proxy: RefusingProxy) -> Iterator[WatchedContext]:
    proxy.attempts.clear()
    context = browser.new_context()
    context.set_default_timeout(60_000)  # 2 cores shared by many test runs: be patient, not flaky
    try:
        yield WatchedContext(context, proxy)
    finally:
        context.close()
