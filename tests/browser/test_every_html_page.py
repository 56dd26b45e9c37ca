"""Every HTML page packyard serves works in a browser that can reach nothing but 127.0.0.1.

The pages are found, not listed: a crawl from the home page, the API documentation and each
ecosystem's entry point follows every same-origin link whose answer is HTML, so a page added later
(the web interface) is held to the same rule as soon as something links to it. The
`offline_browser` fixture fails the test if any page's request left 127.0.0.1, a local request
failed, or a script threw (tests/support/browser.py).
"""

from __future__ import annotations

from collections import deque
from urllib.parse import urldefrag, urlsplit

import httpx

from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_sdist, build_wheel

ENTRY_POINTS = ["/", "/docs", "/redoc", "/pypi/simple/", "/rubygems/"]
MAX_PAGES = 100
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def is_html(url: str) -> bool:
    """Asked as a browser asks; the body of a non-HTML answer (a wheel, a gem) is never read."""
    with httpx.stream("GET", url, headers={"Accept": BROWSER_ACCEPT}, timeout=30) as response:
        return response.status_code == 200 and response.headers.get("content-type", "").startswith("text/html")


def crawl(browser, base_url: str) -> list[str]:
    """Open every HTML page reachable from the entry points; the paths visited, in order."""
    origin = urlsplit(base_url).netloc
    queue = deque(base_url + path for path in ENTRY_POINTS)
    seen = set(queue)
    visited = []
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        if not is_html(url):
            continue
        page = browser.open(url)
        page.wait_for_load_state("networkidle")
        visited.append(urlsplit(url).path)
        for link in page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)"):
            link = urldefrag(link).url
            if urlsplit(link).netloc == origin and link not in seen:
                seen.add(link)
                queue.append(link)
        page.close()
    return visited


def test_every_html_page_works_offline(server, offline_browser, tmp_path):
    token = server.mint_token("pypi:package:*:write")
    for dist in (build_wheel(tmp_path, "offline-demo", "1.0"), build_sdist(tmp_path, "offline-demo", "1.0")):
        assert http_upload(server.url, token, dist, "offline-demo", "1.0").status_code == 200

    visited = crawl(offline_browser, server.url)

    # The pages served today are all found (so the crawl cannot pass by finding nothing): the web
    # interface's home, a package page (from "recently published"), the sign-in form.
    expected = {"/", "/packages/pypi/offline-demo", "/signin", "/docs", "/redoc", "/pypi/simple/", "/pypi/simple/offline-demo/"}
    assert expected <= set(visited), visited
    assert len(visited) < MAX_PAGES, "raise MAX_PAGES: the crawl stopped before the end"
