"""Model output and user text as Markdown, rendered to HTML that cannot run anything."""

from functools import lru_cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from webui.chat.markdown_math import math_plugin

_FORMATTER = HtmlFormatter(nowrap=True)

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "del",
    "s",  # markdown-it writes ~~strikethrough~~ as <s>
    "code",
    "pre",
    "span",
    "div",  # display math only: raw HTML is off, so markdown_math writes every div
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "span": {"class"},
    "div": {"class"},
    "ol": {"start"},
}


def _highlight(code: str, lang: str, _attrs) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes the code itself
    return highlight(code, lexer, _FORMATTER)


_md = (
    MarkdownIt("commonmark", {"html": False, "highlight": _highlight})
    .enable("table")
    .enable("strikethrough")
    .use(math_plugin)
)


@lru_cache(maxsize=4096)
def render(text: str) -> SafeString:
    """Render Markdown to sanitized HTML: no raw HTML, scripts, images or odd links.

    TeX math stays as its source in math-inline and math-display elements, for the
    browser to typeset (webui/chat/markdown_math.py).
    """
    return _clean(_md.render(text or ""))


def parse(text: str) -> list[Token]:
    """The block tokens of Markdown text, for render_tokens (a streaming answer renders
    its blocks apart: webui/chat/markdown_stream.py)."""
    return _md.parse(text)


def render_tokens(tokens: list[Token]) -> SafeString:
    """Render some of parse's tokens to HTML sanitized as render's."""
    return _clean(_md.renderer.render(tokens, _md.options, {}))


def _clean(html: str) -> SafeString:
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - nh3 has just removed everything unsafe
