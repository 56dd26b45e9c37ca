"""Package descriptions as safe HTML: Markdown and reStructuredText rendered the way pypi.org does
(`readme_renderer`: comrak for Markdown, docutils for reST, then `nh3` keeps only harmless tags and
attributes, so no `<script>`, event handler or `javascript:` URL survives). Plain text is escaped."""

from __future__ import annotations

from email.message import Message
from functools import lru_cache

import readme_renderer.markdown
import readme_renderer.rst
import readme_renderer.txt
from markupsafe import Markup


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["content-type"] = content_type
    return message.get_content_type(), {k.lower(): v for k, v in message.get_params()[1:]}


@lru_cache(maxsize=256)
def render_description(text: str, content_type: str) -> Markup:
    """HTML that is safe to put in a page (memoized: a package page renders its latest description on every miss)."""
    media_type, params = _media_type(content_type)
    html = None
    if media_type == "text/markdown":
        html = readme_renderer.markdown.render(text, variant=params.get("variant", "GFM"))
    elif media_type == "text/x-rst":
        html = readme_renderer.rst.render(text)  # None when the text is not valid reST: shown as text
    if html is None:
        html = readme_renderer.txt.render(text)
    return Markup(html)
