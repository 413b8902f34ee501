"""Markdown → sanitised HTML for user content (forum posts, messages, contributions, lessons).

Two layers, each enough on its own for the common attacks: markdown-it-py (CommonMark, raw
HTML disabled so `<tags>` in the text come out escaped, no linkify) produces HTML, and nh3
(the Ammonia sanitizer) keeps only an allow-list of tags and attributes, only http, https and
mailto URLs (relative ones pass through), and adds `rel="nofollow noopener"` to links.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

TAGS = frozenset(
    {
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "ul",
    }
)
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("strikethrough")


def render_markdown(text: str) -> str:
    """Sanitised HTML for a markdown text (the same input always gives the same output)."""
    return sanitize(_markdown.render(text or ""))


def sanitize(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes of an HTML fragment."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(attrs) for tag, attrs in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
