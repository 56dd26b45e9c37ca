"""The web interface seen by a plain HTTP client: a signed-in httpx session, and the forms of a page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(values.get("method", "get").lower(), values.get("action", ""))
            self.forms.append(self._current)
        elif tag in ("input", "select", "textarea") and self._current is not None and values.get("name"):
            self._current.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def post_forms(html: str) -> list[Form]:
    return [form for form in forms(html) if form.method == "post"]


@contextmanager
def signed_in_client(base_url: str, user: str, password: str) -> Iterator[httpx.Client]:
    """An httpx client holding a session cookie, signed in through the sign-in form."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        form = post_forms(client.get("/signin").text)[0]
        response = client.post("/signin", data={**form.fields, "user": user, "password": password})
        assert response.status_code == 303, response.text
        yield client
