"""Package descriptions as safe HTML: Markdown and reStructuredText rendered the way pypi.org does
(`readme_renderer`: comrak for Markdown, docutils for reST, then `nh3` keeps only harmless tags and
attributes, so no `<script>`, event handler or `javascript:` URL survives). Plain text is escaped.

Rendering is slow the first time a process meets a language in a README's code blocks (pygments
compiles that lexer's regular expressions: tens of milliseconds), so a description is rendered
when a version carrying it is published (`keep`, after the commit, outside the write lock) and kept
by the SHA-256 of its content type and text (`RenderedDescription`). A page (`description_html`)
reads it from there; only a description never kept (published before packyard kept them, or whose
keeping failed) is rendered on the page's request. Each process memoizes what it has shown.
"""

from __future__ import annotations

import hashlib
import logging
from email.message import Message

import readme_renderer.markdown
import readme_renderer.rst
import readme_renderer.txt
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from packyard.db import Database
from packyard.models import RenderedDescription
from packyard.plugins import ReleaseDetails

log = logging.getLogger("packyard.descriptions")

SHOWN_LIMIT = 256  # descriptions memoized per process (then the memo starts over)
_shown: dict[str, Markup] = {}


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["content-type"] = content_type
    return message.get_content_type(), {k.lower(): v for k, v in message.get_params()[1:]}


def render_description(text: str, content_type: str) -> Markup:
    """HTML that is safe to put in a page."""
    media_type, params = _media_type(content_type)
    html = None
    if media_type == "text/markdown":
        html = readme_renderer.markdown.render(text, variant=params.get("variant", "GFM"))
    elif media_type == "text/x-rst":
        html = readme_renderer.rst.render(text)  # None when the text is not valid reST: shown as text
    if html is None:
        html = readme_renderer.txt.render(text)
    return Markup(html)


def digest(text: str, content_type: str) -> str:
    return hashlib.sha256(f"{content_type}\n{text}".encode()).hexdigest()


def keep(db: Database, details: ReleaseDetails) -> None:
    """Render a just-published version's description and keep it, unless it is kept already."""
    if not details.description:
        return
    key = digest(details.description, details.description_content_type)
    with db.read() as session:
        if session.get(RenderedDescription, key) is not None:
            return
    html = render_description(details.description, details.description_content_type)
    try:
        with db.write() as session:
            session.add(RenderedDescription(digest=key, html=str(html)))
    except IntegrityError:  # kept meanwhile by another upload of the same text
        pass


def keep_after_publish(db: Database, details: ReleaseDetails) -> None:
    """`keep`, for a publish that has committed: a failure is logged, never the upload's."""
    try:
        keep(db, details)
    except Exception:  # the database away or full, a renderer's bug: the page renders it instead
        log.warning("could not keep the rendered description; pages will render it", exc_info=True)


def description_html(session: Session, details: ReleaseDetails) -> Markup | None:
    """A page's description: this process's memo, else the kept HTML, else rendered now."""
    if not details.description:
        return None
    key = digest(details.description, details.description_content_type)
    html = _shown.get(key)
    if html is None:
        row = session.get(RenderedDescription, key)
        html = Markup(row.html) if row is not None else render_description(details.description, details.description_content_type)
        if len(_shown) >= SHOWN_LIMIT:
            _shown.clear()
        _shown[key] = html
    return html
